/* Device facts and settings: MTU, kind, MAC and per-device IPv4 sysctls, read and written in this
 * process's network namespace (ioctls and /proc/sys/net are per namespace; /sys may show another one
 * under nsenter --net). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include "vr_internal.h"

/* A socket of this namespace and an ifreq naming ifname, for the ioctls below; -1 if no socket. */
static int vr_dev_sock(const char *ifname, struct ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", ifname);
	return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

int vr_dev_mtu(const char *ifname)
{
	struct ifreq ifr;
	int fd, mtu = 1500;

	fd = vr_dev_sock(ifname, &ifr);
	if (fd < 0)
		return mtu;
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
		mtu = ifr.ifr_mtu;
	close(fd);
	return mtu;
}

bool vr_dev_is_tap(const char *ifname)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;
	bool tap = false;
	int fd;

	fd = vr_dev_sock(ifname, &ifr);
	if (fd < 0)
		return false;
	ifr.ifr_data = (void *)&info;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
		tap = !strcmp(info.driver, "tun");
	close(fd);
	return tap;
}

/* The vif device answers to the vRouter MAC: frames a VM addresses to its gateway that the datapath hands to
 * the host (RECEIVE routes) must not be discarded as meant for another host, and whatever the host itself
 * sends to the VM leaves with the MAC the VM learnt for its gateway. */
int vr_dev_set_mac(const char *ifname, const __u8 mac[6])
{
	struct ifreq ifr;
	int fd, err = 0;

	fd = vr_dev_sock(ifname, &ifr);
	if (fd < 0)
		return vr_err(-errno, "socket: %s", strerror(errno));
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0 && !memcmp(ifr.ifr_hwaddr.sa_data, mac, 6))
		goto out;
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	if (ioctl(fd, SIOCSIFHWADDR, &ifr))
		err = vr_err(-errno, "setting the vRouter MAC on %s failed: %s", ifname, strerror(errno));
out:
	close(fd);
	return err;
}

int vr_dev_sysctl(const char *dev, const char *key, const char *val)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/%s", dev, key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val)) {
		int err = -errno;

		if (fd >= 0)
			close(fd);
		return vr_err(err, "setting net.ipv4.conf.%s.%s=%s failed: %s", dev, key, val, strerror(-err));
	}
	close(fd);
	return 0;
}

/* Turn GRO on: the fabric decapsulates in XDP so that GRO can merge the inner TCP of frames for vifs in
 * mode tc; without GRO (veth's default) every segment travels to the VM on its own. */
int vr_dev_gro_on(const char *ifname)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_GGRO };
	struct ifreq ifr;
	int fd, err = 0;

	fd = vr_dev_sock(ifname, &ifr);
	if (fd < 0)
		return vr_err(-errno, "socket: %s", strerror(errno));
	ifr.ifr_data = (void *)&ev;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0 && ev.data)
		goto out;
	ev.cmd = ETHTOOL_SGRO;
	ev.data = 1;
	if (ioctl(fd, SIOCETHTOOL, &ifr) && errno != EOPNOTSUPP)
		err = vr_err(-errno, "turning GRO on for %s failed: %s", ifname, strerror(errno));
out:
	close(fd);
	return err;
}
