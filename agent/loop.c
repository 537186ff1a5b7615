/* The epoll loop shared by vrouter-agent and vrouter-controller (see loop.h): one epoll set, a deadline per
 * watch for timers, and a wait that runs the due timers, sleeps until the next one (at most a second) and
 * dispatches what became ready. */
#include <errno.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include "loop.h"

static int epfd = -1;
static struct vr_watch *timers;

int vr_loop_init(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	return epfd < 0 ? -errno : 0;
}

void vr_loop_fini(void)
{
	if (epfd >= 0)
		close(epfd);
	epfd = -1;
	timers = NULL;
}

uint64_t vr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int vr_loop_add(struct vr_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, w->fd, &ev) ? -errno : 0;
}

int vr_loop_mod(struct vr_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(epfd, EPOLL_CTL_MOD, w->fd, &ev) ? -errno : 0;
}

void vr_loop_del(struct vr_watch *w)
{
	vr_loop_timer(w, 0);
	if (w->fd >= 0)
		epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

void vr_loop_timer(struct vr_watch *w, uint64_t ms)
{
	if (w->timed) {
		for (struct vr_watch **p = &timers; *p; p = &(*p)->next)
			if (*p == w) {
				*p = w->next;
				break;
			}
		w->timed = 0;
	}
	w->deadline_ms = 0;
	if (!ms)
		return;
	w->deadline_ms = vr_now_ms() + ms;
	w->next = timers;
	timers = w;
	w->timed = 1;
}

/* Runs the due timers (after, if set, after each); returns the ms until the next one, at most 1 s, so the
 * loop also wakes up regularly. */
static int vr_loop_run_timers(void (*after)(void))
{
	uint64_t now = vr_now_ms(), next = now + 1000;
	struct vr_watch *w;
	bool again = true;

	while (again) {
		again = false;
		for (w = timers; w; w = w->next)
			if (w->deadline_ms <= now) {
				vr_loop_timer(w, 0);
				if (w->on_timer)
					w->on_timer(w, 0);
				if (after)
					after();
				again = true; /* the list may have changed */
				break;
			}
	}
	for (w = timers; w; w = w->next)
		if (w->deadline_ms < next)
			next = w->deadline_ms;
	return next > now ? (int)(next - now) : 0;
}

int vr_loop_wait(void (*after)(void))
{
	struct epoll_event evs[64];
	int n = epoll_wait(epfd, evs, 64, vr_loop_run_timers(after));

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct vr_watch *w = evs[i].data.ptr;

		w->fn(w, evs[i].events);
		if (after)
			after();
	}
	return n;
}
