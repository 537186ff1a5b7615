/* Datapath events and underlay neighbour resolution. The encap path drops (and counts) a packet whose
 * underlay next hop has no resolved MAC and reports it here; we ask the kernel to resolve the neighbour
 * (RTM_NEWNEIGH with NTF_USE, as if the host itself wanted to send), and the next packets find it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <bpf/libbpf.h>
#include "vr_internal.h"

int vr_neigh_resolve(int ifindex, __be32 addr)
{
	struct {
		struct nlmsghdr nh;
		struct ndmsg ndm;
		struct rtattr rta;
		__be32 dst;
	} req = {};
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
	} ack;
	int fd, err = 0;
	ssize_t n;

	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = RTM_NEWNEIGH;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
	req.nh.nlmsg_seq = 1;
	req.ndm.ndm_family = AF_INET;
	req.ndm.ndm_ifindex = ifindex;
	req.ndm.ndm_flags = NTF_USE;
	req.ndm.ndm_state = NUD_NONE;
	req.rta.rta_type = NDA_DST;
	req.rta.rta_len = RTA_LENGTH(sizeof(addr));
	req.dst = addr;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return vr_err(-errno, "netlink socket: %s", strerror(errno));
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = vr_err(-errno, "netlink send: %s", strerror(errno));
		goto out;
	}
	n = recv(fd, &ack, sizeof(ack), 0);
	if (n < 0)
		err = vr_err(-errno, "netlink receive: %s", strerror(errno));
	else if ((size_t)n >= sizeof(ack) && ack.nh.nlmsg_type == NLMSG_ERROR && ack.err.error)
		err = vr_err(ack.err.error, "resolving the neighbour failed: %s", strerror(-ack.err.error));
out:
	close(fd);
	return err;
}

struct vr_events {
	struct ring_buffer *rb;
	vr_event_cb cb;
	void *arg;
	/* The last miss we acted on, so that a burst of packets asks the kernel once. */
	__be32 last_addr;
	int last_ifindex;
	struct timespec last_time;
};

static int vr_event_handle(void *ctx, void *data, size_t size)
{
	struct vr_events *ev = ctx;
	struct vr_event e;
	struct timespec now;

	if (size < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	if (e.type == VR_EV_NEIGH_MISS) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (e.addr != ev->last_addr || (int)e.ifindex != ev->last_ifindex ||
		    now.tv_sec - ev->last_time.tv_sec >= 1) {
			vr_neigh_resolve((int)e.ifindex, e.addr);
			ev->last_addr = e.addr;
			ev->last_ifindex = (int)e.ifindex;
			ev->last_time = now;
		}
	}
	if (ev->cb)
		ev->cb(&e, ev->arg);
	return 0;
}

struct vr_events *vr_events_open(struct vr_handle *h, vr_event_cb cb, void *arg)
{
	struct vr_events *ev = calloc(1, sizeof(*ev));

	if (!ev) {
		vr_err(-ENOMEM, "out of memory");
		return NULL;
	}
	ev->cb = cb;
	ev->arg = arg;
	ev->rb = ring_buffer__new(h->events_fd, vr_event_handle, ev, NULL);
	if (!ev->rb) {
		vr_err(-errno, "opening the event ring buffer failed: %s", strerror(errno));
		free(ev);
		return NULL;
	}
	return ev;
}

int vr_events_poll(struct vr_events *ev, int timeout_ms)
{
	int n = ring_buffer__poll(ev->rb, timeout_ms);

	if (n < 0 && n != -EINTR)
		return vr_err(n, "polling events failed: %s", strerror(-n));
	return n < 0 ? 0 : n;
}

void vr_events_close(struct vr_events *ev)
{
	if (!ev)
		return;
	ring_buffer__free(ev->rb);
	free(ev);
}
