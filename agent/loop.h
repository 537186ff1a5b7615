/* The event loop of vrouter-agent and vrouter-controller (agent/loop.c): one epoll set for everything the daemon waits on (signals, the datapath's
 * event ring, the port API listener and its clients, and later the XMPP sessions). A source embeds a
 * struct vr_watch; epoll hands the watch back and the loop calls its handler. Nothing blocks: sockets are
 * non-blocking, and a handler does its work and returns. Timers are a deadline per watch (monotonic ms,
 * 0 = none), checked after every wakeup, which is all keepalives and hold timers will need. */
#ifndef VR_AGENT_LOOP_H
#define VR_AGENT_LOOP_H

#include <stdint.h>

struct vr_watch;
typedef void (*vr_watch_fn)(struct vr_watch *w, uint32_t events);

struct vr_watch {
	int fd;                 /* -1: timer only */
	vr_watch_fn fn;         /* I/O readiness (events from epoll) */
	vr_watch_fn on_timer;   /* called with events 0 once deadline_ms has passed */
	uint64_t deadline_ms;   /* CLOCK_MONOTONIC ms; 0: no timer */
	struct vr_watch *next;  /* loop's list of timed watches */
	int timed;
};

/* Create / close the epoll set (once per process). */
int vr_loop_init(void);
void vr_loop_fini(void);
/* Run the due timers, wait for readiness until the next one (at most 1 s) and dispatch; after, if set,
 * runs after every handler. Returns the number of ready watches (0 on a timeout or a signal) or -errno. */
int vr_loop_wait(void (*after)(void));

uint64_t vr_now_ms(void);
int vr_loop_add(struct vr_watch *w, uint32_t events);
int vr_loop_mod(struct vr_watch *w, uint32_t events);
void vr_loop_del(struct vr_watch *w);
/* Arm (ms > 0) or disarm (0) the watch's timer, relative to now. */
void vr_loop_timer(struct vr_watch *w, uint64_t ms);

#endif /* VR_AGENT_LOOP_H */
