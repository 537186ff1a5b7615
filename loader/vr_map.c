/* Reading a hash map whole in batches of lookups (a million entries take a thousand system calls, not a
 * million): one walk for every table libvrouter reads that way (host routes, NAT connections). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "vr_internal.h"

int vr_map_walk(int fd, size_t key_size, size_t val_size, const char *what, vr_map_walk_cb cb, void *arg)
{
	enum { CHUNK = 1024 };
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u8 *keys = malloc(CHUNK * key_size);
	__u8 *vals = malloc(CHUNK * val_size);
	__u32 token = 0, count;
	void *in = NULL;
	int err = 0;

	if (!keys || !vals) {
		err = vr_err(-ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		int rc;

		count = CHUNK;
		rc = bpf_map_lookup_batch(fd, in, &token, keys, vals, &count, &opts);
		if (rc && errno != ENOENT) {
			err = vr_err(-errno, "reading the %s failed: %s", what, strerror(errno));
			break;
		}
		for (__u32 i = 0; i < count && !err; i++)
			err = cb(keys + i * key_size, vals + i * val_size, arg);
		if (rc || err)
			break;
		in = &token;
	}
out:
	free(keys);
	free(vals);
	return err;
}
