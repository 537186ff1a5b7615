/* vrouter-agent's one datapath handle (see datapath.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "datapath.h"
#include "log.h"
#include "loop.h"

static struct {
	char pin_dir[256];
	struct vr_handle h;
	bool open;
	unsigned int users;
	uint64_t opened_ms;
	struct vr_watch linger;		/* timer only */
} D = { .linger.fd = -1 };

static void dp_close_now(void)
{
	vr_loop_timer(&D.linger, 0);
	if (D.open)
		vr_close(&D.h);
	D.open = false;
}

static void on_linger(struct vr_watch *w, uint32_t events)
{
	(void)w;
	(void)events;
	if (!D.users)
		dp_close_now();
}

void vr_dp_init(const char *pin_dir)
{
	snprintf(D.pin_dir, sizeof(D.pin_dir), "%s", pin_dir);
	D.linger.fd = -1;
	D.linger.on_timer = on_linger;
}

int vr_dp_get(struct vr_handle **h)
{
	if (!D.open) {
		int rc = vr_open(D.pin_dir, &D.h);

		if (rc)
			return rc;
		D.open = true;
		D.opened_ms = vr_now_ms();
	}
	vr_loop_timer(&D.linger, 0);
	D.users++;
	*h = &D.h;
	return 0;
}

void vr_dp_put(void)
{
	if (!D.users || --D.users)
		return;
	if (vr_now_ms() - D.opened_ms >= VR_DP_MAX_HOLD_MS)
		dp_close_now();
	else
		vr_loop_timer(&D.linger, VR_DP_LINGER_MS);
}

void vr_dp_close(void)
{
	if (!D.users)
		dp_close_now();
}
