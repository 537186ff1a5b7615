/* vrouter-agent: the control-plane daemon of bpf-vrouter. Reads its YAML configuration, loads the datapath
 * or adopts the one already pinned, adopts the ports it finds there, serves the port API and resolves
 * underlay neighbours for the datapath, all from one epoll loop. Standalone when no controller is
 * configured; XMPP sessions to the controllers are further sources of the same loop (loop.h). With role
 * gateway it also programs the NAT state, publishes each tenant's default route and sweeps the NAT table
 * (gateway.h).
 * SIGTERM/SIGINT end it cleanly and leave the datapath and the ports in place: forwarding never depends on
 * the agent running. SIGHUP is ignored for now (logged). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include "config.h"
#include "libvrouter.h"
#include "datapath.h"
#include "gateway.h"
#include "log.h"
#include "loop.h"
#include "port_api.h"
#include "ports.h"
#include "routes.h"
#include "xmpp.h"
#include "xmpp_session.h"

#define EXIT_USAGE 2

/* ---- signals and datapath events ---- */

static volatile int stop;

struct signal_watch {
	struct vr_watch w;
};

static void on_signal(struct vr_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("%s: shutting down (the datapath and the ports stay)", strsignal((int)si.ssi_signo));
			stop = 1;
			break;
		case SIGHUP:
			log_info("SIGHUP: ignored (restart the agent to apply a new configuration; it is hitless)");
			break;
		}
	}
}

struct events_watch {
	struct vr_watch w;
	struct vr_events *ev;
};

static void on_datapath_event(const struct vr_event *e, void *arg)
{
	char ip[16], dev[IF_NAMESIZE];

	(void)arg;
	if (e->type != VR_EV_NEIGH_MISS)
		return;
	if (!if_indextoname(e->ifindex, dev))
		snprintf(dev, sizeof(dev), "if%u", e->ifindex);
	log_info("neighbour miss on %s for %s: resolving", dev, inet_ntop(AF_INET, &e->addr, ip, sizeof(ip)));
}

static void on_events(struct vr_watch *w, uint32_t events)
{
	struct events_watch *ew = (struct events_watch *)w;

	(void)events;
	if (vr_events_poll(ew->ev, 0) < 0)
		log_warn("datapath events: %s", vr_strerror());
}

/* ---- start-up ---- */

static void usage(FILE *f)
{
	fprintf(f, "Usage: vrouter-agent -c FILE [--print-config] [-f] [-v]\n"
		   "  -c, --config FILE   the YAML configuration (see agent/examples/vrouter-agent.yaml)\n"
		   "  --print-config      print the effective configuration, defaults included, and exit\n"
		   "  -f, --foreground    stay in the foreground (default: detach once serving)\n"
		   "  -v, --verbose       libbpf messages (twice: debug)\n"
		   "  -h, --help\n");
}

/* Load the datapath unless one is pinned with the same underlay settings, which is adopted as it is. */
static int datapath_up(const struct vr_agent_config *cfg)
{
	struct vr_load_opts opts = { .fabric = cfg->fabric, .host_ip = cfg->host_ip };
	struct vr_handle h;
	struct vr_config dp;
	char ip[16];
	int rc;

	if (!vr_open(cfg->pin_dir, &h)) {
		rc = vr_config_get(&h, &dp);
		vr_close(&h);
		if (!rc && dp.host_ip == cfg->host_ip && dp.fabric_ifindex == if_nametoindex(cfg->fabric)) {
			log_info("adopting the datapath pinned in %s", cfg->pin_dir);
			return 0;
		}
		log_info("the datapath in %s has other underlay settings: reloading it", cfg->pin_dir);
	}
	rc = vr_load(cfg->pin_dir, &opts);
	if (rc) {
		log_err("loading the datapath into %s failed: %s", cfg->pin_dir, vr_strerror());
		return rc;
	}
	log_info("datapath loaded in %s: fabric %s, underlay %s", cfg->pin_dir, cfg->fabric,
		 inet_ntop(AF_INET, &cfg->host_ip, ip, sizeof(ip)));
	return 0;
}

/* Detach after start-up succeeded; the parent exits 0 only once the socket is serving. */
static int detach(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	setsid();
	if (!freopen("/dev/null", "r", stdin) || !freopen("/dev/null", "w", stdout))
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "print-config", no_argument, NULL, 'P' },
		{ "foreground", no_argument, NULL, 'f' },   { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },	    { NULL, 0, NULL, 0 },
	};
	struct signal_watch sigw = { .w = { .fd = -1 } };
	struct events_watch evw = { .w = { .fd = -1 } };
	const char *path = NULL;
	bool print = false, foreground = false;
	int verbose = 0, opt, rc, status = 1;
	struct vr_agent_config cfg;
	struct vr_port_api *api = NULL;
	struct vr_ports ports;
	struct vr_routes routes = {};
	bool xmpp_started = false;
	struct vr_handle evh;
	bool evh_open = false;
	char err[1024];
	sigset_t mask;

	while ((opt = getopt_long(argc, argv, "c:fvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'P':
			print = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!path || optind != argc) {
		fprintf(stderr, "vrouter-agent: %s\n", path ? "unexpected argument" : "missing -c FILE");
		usage(stderr);
		return EXIT_USAGE;
	}
	rc = vr_agent_config_load(path, &cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return EXIT_USAGE;
	}
	if (print)
		return vr_agent_config_print(stdout, &cfg) ? 1 : 0;

	rc = vr_log_init(cfg.log_level, cfg.log_file);
	if (rc) {
		fprintf(stderr, "vrouter-agent: cannot open the log file %s: %s\n", cfg.log_file, strerror(-rc));
		return 1;
	}
	vr_set_verbosity(verbose ? verbose : cfg.log_level == VR_AGENT_LOG_DEBUG ? 1 : 0);
	log_info("vrouter-agent starting: config %s, host %s, role %s, %u controller(s)%s", path, cfg.host_name,
		 vr_agent_role_name(cfg.role), cfg.n_controllers, cfg.n_controllers ? "" : " (standalone)");

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if (vr_loop_init()) {
		log_err("epoll_create1: %s", strerror(errno));
		return 1;
	}
	vr_ports_init(&ports, &cfg);
	vr_dp_init(cfg.pin_dir);

	if (datapath_up(&cfg))
		goto out;
	rc = vr_ports_adopt(&ports, err, sizeof(err));
	if (rc) {
		log_err("adopting the ports failed: %s", err);
		goto out;
	}
	/* The gateway role's datapath state (or, for a vrouter, the removal of a former gateway's), before the
	 * learned routes are adopted: the external default routes are no tunnel routes to adopt. */
	if (vr_gw_start(&cfg, &ports))
		goto out;
	/* A long-lived handle for the event ring, without the writer lock (port changes take it per request). */
	if (vr_open(cfg.pin_dir, &evh)) {
		log_err("cannot open the datapath: %s", vr_strerror());
		goto out;
	}
	evh_open = true;
	vr_unlock(&evh);
	evw.ev = vr_events_open(&evh, on_datapath_event, NULL);
	if (!evw.ev) {
		log_err("cannot watch datapath events: %s", vr_strerror());
		goto out;
	}
	/* The ring buffer map's fd is readable when records are waiting. */
	evw.w.fd = evh.events_fd;
	evw.w.fn = on_events;
	if (vr_loop_add(&evw.w, EPOLLIN)) {
		log_err("cannot watch the event ring: %s", strerror(errno));
		goto out;
	}
	sigw.w.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	sigw.w.fn = on_signal;
	if (sigw.w.fd < 0 || vr_loop_add(&sigw.w, EPOLLIN)) {
		log_err("cannot watch signals: %s", strerror(errno));
		goto out;
	}
	api = vr_port_api_open(cfg.port_socket, &ports, err, sizeof(err));
	if (!api) {
		log_err("%s", err);
		goto out;
	}
	if (!foreground && detach()) {
		log_err("cannot detach: %s", strerror(errno));
		goto out;
	}
	if (cfg.n_controllers) {
		struct vr_handle rh;

		if (vr_routes_init(&routes)) {
			log_err("out of memory");
			goto out;
		}
		/* Tunnel routes a previous agent learned: kept (stale) until a controller resyncs. */
		if (!vr_open(cfg.pin_dir, &rh)) {
			if (vr_routes_adopt(&routes, &rh))
				log_warn("adopting the learned routes failed: %s", vr_strerror());
			vr_close(&rh);
			if (routes.n)
				log_info("%zu tunnel route(s) adopted as stale until a controller resyncs", routes.n);
		}
		if (vr_xmpp_start(&cfg, &ports, &routes)) {
			log_err("cannot start the XMPP sessions: out of memory");
			goto out;
		}
		xmpp_started = true;
	}
	log_info("ready: %zu port(s), labels %u..%u", ports.n, cfg.label_first, cfg.label_last);

	while (!stop) {
		int n = vr_loop_wait(NULL);

		if (n < 0) {
			log_err("epoll_wait: %s", strerror(-n));
			goto out;
		}
		/* A wakeup lost between the ring's producer and our epoll registration costs at most a second. */
		if (n == 0)
			on_events(&evw.w, 0);
	}
	status = 0;
out:
	if (xmpp_started)
		vr_xmpp_stop();
	vr_gw_stop();
	vr_dp_close();
	if (routes.bucket)
		vr_routes_free(&routes);
	vr_port_api_close(api);
	if (evw.ev)
		vr_events_close(evw.ev);
	if (evh_open)
		vr_close(&evh);
	if (sigw.w.fd >= 0)
		close(sigw.w.fd);
	vr_ports_free(&ports);
	vr_loop_fini();
	log_info("vrouter-agent stopped");
	return status;
}
