/* Attaching programs to devices: XDP through pinned bpf_links (replaced atomically on reload) and TC
 * (cls_bpf, direct action, on the clsact ingress hook) through netlink filters at a fixed handle and
 * priority (replaced in place on reload: libbpf 1.1 has no TC links). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vr_internal.h"

int vr_xdp_link_attach(const char *pin_dir, const char *link_name, int prog_fd, int ifindex)
{
	char path[PATH_MAX];
	int fd, err;

	err = vr_pin_path(path, sizeof(path), pin_dir, link_name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);

		/* Same device: swap the program in place (atomic, no packet sees an empty hook). */
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_XDP &&
		    (int)info.xdp.ifindex == ifindex) {
			err = bpf_link_update(fd, prog_fd, NULL);
			close(fd);
			if (err)
				return vr_err(err, "replacing the program on ifindex %d failed: %s", ifindex, strerror(-err));
			return 0;
		}
		close(fd);
		unlink(path);
	}
	fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, NULL);
	if (fd < 0) {
		err = -errno;
		if (err == -EBUSY || err == -EEXIST)
			return vr_err(err, "device ifindex %d already has an XDP program that is not ours", ifindex);
		return vr_err(err, "attaching XDP to ifindex %d failed: %s", ifindex, strerror(-err));
	}
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		close(fd);
		return vr_err(err, "pinning %s failed: %s", path, strerror(-err));
	}
	close(fd);
	return 0;
}

int vr_xdp_link_detach(const char *pin_dir, const char *link_name)
{
	char path[PATH_MAX];
	int fd, err;

	err = vr_pin_path(path, sizeof(path), pin_dir, link_name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	/* Detach now even if someone else holds the link open. */
	bpf_link_detach(fd);
	close(fd);
	unlink(path);
	return 0;
}

int vr_tc_attach(int ifindex, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = VR_TC_HANDLE, .priority = VR_TC_PRIO, .prog_fd = prog_fd,
		    .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return vr_err(err, "creating the clsact hook on ifindex %d failed: %s", ifindex, strerror(-err));
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		return vr_err(err, "attaching the TC program to ifindex %d failed: %s", ifindex, strerror(-err));
	return 0;
}

int vr_tc_detach(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = VR_TC_HANDLE, .priority = VR_TC_PRIO);
	int err = bpf_tc_detach(&hook, &opts);

	/* Gone already (device deleted, or never attached) is fine. */
	if (err && err != -ENOENT && err != -ENODEV && err != -EINVAL)
		return vr_err(err, "detaching the TC program from ifindex %d failed: %s", ifindex, strerror(-err));
	return 0;
}

static int vr_prog_open(const char *pin_dir, const char *name)
{
	char path[PATH_MAX];
	int fd, err = vr_pin_path(path, sizeof(path), pin_dir, name);

	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return vr_err(-errno, "cannot open %s: %s", path, strerror(errno));
	return fd;
}

int vr_vif_attach(const char *pin_dir, const struct vr_vif *vif)
{
	char link_name[32];
	int fd, err;

	/* TC on every vif: the whole datapath in mode tc, the hand-over from XDP in mode xdp. */
	fd = vr_prog_open(pin_dir, VR_PIN_PROG_VIF_TC);
	if (fd < 0)
		return fd;
	err = vr_tc_attach((int)vif->ifindex, fd);
	close(fd);
	if (err || (vif->flags & VR_VIF_F_TC))
		return err;
	fd = vr_prog_open(pin_dir, VR_PIN_PROG_VIF);
	if (fd < 0) {
		vr_tc_detach((int)vif->ifindex);
		return fd;
	}
	snprintf(link_name, sizeof(link_name), VR_PIN_LINK_VIF_FMT, vif->ifindex);
	err = vr_xdp_link_attach(pin_dir, link_name, fd, (int)vif->ifindex);
	close(fd);
	if (err)
		vr_tc_detach((int)vif->ifindex);
	return err;
}

void vr_vif_detach(const char *pin_dir, const struct vr_vif *vif)
{
	char link_name[32];

	snprintf(link_name, sizeof(link_name), VR_PIN_LINK_VIF_FMT, vif->ifindex);
	vr_xdp_link_detach(pin_dir, link_name);
	vr_tc_detach((int)vif->ifindex);
}
