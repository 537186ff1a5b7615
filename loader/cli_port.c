/* vrouterctl port: the hypervisor's side of the vrouter-agent port API, for operators and tests. Talks
 * the agent's line protocol (agent/port_api.h) over its Unix socket: -s SOCKET, else $VR_AGENT_SOCKET,
 * else the agent's default. Arguments are checked here first (exit 2), so the agent only sees
 * well-formed requests; an agent error or an agent that is not running exits 1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "cli.h"

/* Same default as agent/config.h (VR_AGENT_PORT_SOCKET). */
#define PORT_SOCKET_DEFAULT "/run/vrouter/agent.sock"
#define PORT_LINE_MAX 1024

static const char *port_socket;

static int port_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(port_socket) >= sizeof(sa.sun_path)) {
		cli_usage("-s: socket path too long");
		return -CLI_EXIT_USAGE;
	}
	memcpy(sa.sun_path, port_socket, strlen(port_socket) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		char msg[256];

		snprintf(msg, sizeof(msg), "cannot reach vrouter-agent at %s: %s (is the agent running?)", port_socket,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		cli_usage("%s", msg); /* same output format; the exit code is ours */
		return -CLI_EXIT_FAIL;
	}
	return fd;
}

/* Send one request and collect the reply: one line, or for list every line up to "end". The reply is
 * returned in a malloc'd buffer. Returns 0 or an exit code (the error already shown). */
static int port_request(const char *req, bool multi, char **reply)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int fd;

	if (!buf)
		return cli_usage("out of memory"), CLI_EXIT_FAIL;
	fd = port_connect();
	if (fd < 0) {
		free(buf);
		return -fd;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		cli_usage("sending to vrouter-agent failed: %s", strerror(errno));
		close(fd);
		free(buf);
		return CLI_EXIT_FAIL;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				close(fd);
				free(buf);
				return cli_usage("out of memory"), CLI_EXIT_FAIL;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = 0;
		if (!multi && memchr(buf, '\n', len))
			break;
		if (multi && (!strncmp(buf, "error ", 6) ? memchr(buf, '\n', len) != NULL :
			      (len >= 4 && (!strcmp(buf, "end\n") || (len >= 5 && !strcmp(buf + len - 5, "\nend\n"))))))
			break;
	}
	buf[len] = 0;
	close(fd);
	*reply = buf;
	return 0;
}

/* The agent's answer as an exit code: "ok ..." 0, "error ..." 1 with the message shown. */
static int port_answer(const char *reply)
{
	char msg[PORT_LINE_MAX];

	if (!strncmp(reply, "ok", 2) && (reply[2] == '\n' || reply[2] == ' '))
		return 0;
	if (!strncmp(reply, "error ", 6)) {
		snprintf(msg, sizeof(msg), "%s", reply + 6);
		msg[strcspn(msg, "\n")] = 0;
		cli_usage("%s", msg);
		return CLI_EXIT_FAIL;
	}
	cli_usage("%s", *reply ? "unexpected reply from vrouter-agent" : "vrouter-agent closed the connection");
	return CLI_EXIT_FAIL;
}

/* A value goes into the request line as it is: no spaces, '=' or control characters may sneak a second
 * argument or a second request in. */
static int port_value(const char *what, const char *s)
{
	if (!*s || strlen(s) > 255)
		return cli_usage("%s: empty or too long", what);
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == '=' || *c == 0x7f)
			return cli_usage("%s: '%s' contains a blank, '=' or a control character", what, s);
	return 0;
}

/* Same limit as agent/ports.h (VR_PORT_IPS_MAX). */
#define PORT_IPS_MAX 8

/* "A[,B...]": 1..PORT_IPS_MAX distinct IPv4 addresses, the first the vif's own. */
static int port_ips(const char *s)
{
	__be32 ips[PORT_IPS_MAX];
	char item[32];
	unsigned int n = 0;
	int rc;

	for (const char *c = s;; c++) {
		size_t len = strcspn(c, ",");

		if (n == PORT_IPS_MAX)
			return cli_usage("ip: more than %d addresses in '%s'", PORT_IPS_MAX, s);
		if (!len || len >= sizeof(item))
			return cli_usage("ip: '%s' is not a comma-separated list of IPv4 addresses", s);
		memcpy(item, c, len);
		item[len] = 0;
		if ((rc = cli_arg_ipv4("ip", item, &ips[n])))
			return rc;
		for (unsigned int i = 0; i < n; i++)
			if (ips[i] == ips[n])
				return cli_usage("ip: %s is given twice", item);
		n++;
		c += len;
		if (!*c)
			return 0;
	}
}

static int port_add(int argc, char **argv)
{
	struct cli_kv kv[] = { { .key = "vrf" }, { .key = "mac" }, { .key = "ip" }, { .key = "vn" },
			       { .key = "gw" },	 { .key = "mtu" }, { .key = "mode" } };
	char req[PORT_LINE_MAX + 1], *reply = NULL;
	__u8 mac[6];
	__be32 ip;
	__u32 u;
	int rc, n;

	if (argc < 1)
		return cli_usage("port add: missing device name");
	if (strlen(argv[0]) >= IFNAMSIZ || port_value("device", argv[0]))
		return cli_usage("port add: '%s' is not a device name", argv[0]);
	if ((rc = cli_parse_kv(argc - 1, argv + 1, kv, 7)))
		return rc;
	for (int i = 0; i < 4; i++)
		if (!kv[i].seen)
			return cli_usage("port add: missing '%s'", kv[i].key);
	if ((rc = cli_arg_u32("vrf", kv[0].val, VR_MAX_VRFS - 1, &u)) || (rc = cli_arg_mac("mac", kv[1].val, mac)) ||
	    (rc = port_value("ip", kv[2].val)) || (rc = port_ips(kv[2].val)) || (rc = port_value("vn", kv[3].val)))
		return rc;
	if (kv[4].seen && (rc = cli_arg_ipv4("gw", kv[4].val, &ip)))
		return rc;
	if (kv[5].seen && (rc = cli_arg_u32("mtu", kv[5].val, 65535, &u)))
		return rc;
	if (kv[6].seen && strcmp(kv[6].val, "tc") && strcmp(kv[6].val, "xdp"))
		return cli_usage("mode: '%s' is neither tc nor xdp", kv[6].val);
	n = snprintf(req, sizeof(req), "add name=%s", argv[0]);
	for (int i = 0; i < 7; i++)
		if (kv[i].seen)
			n += snprintf(req + n, sizeof(req) - (size_t)n, " %s=%s", kv[i].key, kv[i].val);
	if (n + 1 >= (int)sizeof(req))
		return cli_usage("port add: request too long");
	strcat(req, "\n");
	if ((rc = port_request(req, false, &reply)))
		return rc;
	rc = port_answer(reply);
	if (!rc) {
		unsigned int vif = 0, label = 0;

		/* The agent's own answer; a field it leaves out reads as 0. */
		sscanf(reply, "ok vif=%u label=%u", &vif, &label); /* NOLINT(cert-err34-c) */
		if (cli.json) {
			jw_obj_begin(NULL);
			jw_str("name", argv[0]);
			jw_u64("vif", vif);
			jw_u64("label", label);
			jw_obj_end();
			jw_finish();
		} else {
			printf("port %s: vif %u label %u\n", argv[0], vif, label);
		}
	}
	free(reply);
	return rc;
}

static int port_del(int argc, char **argv)
{
	char req[64], *reply = NULL;
	int rc;

	if (argc != 1)
		return cli_usage("port del: expected exactly one device name");
	if (strlen(argv[0]) >= IFNAMSIZ || port_value("device", argv[0]))
		return cli_usage("port del: '%s' is not a device name", argv[0]);
	snprintf(req, sizeof(req), "del name=%s\n", argv[0]);
	if ((rc = port_request(req, false, &reply)))
		return rc;
	rc = port_answer(reply);
	free(reply);
	return rc;
}

/* One "port k=v ..." line as a JSON object (values as strings, numbers as numbers). */
static void port_json(char *line)
{
	static const char *const numeric[] = { "vif", "label", "vrf", "mtu", NULL };
	char *tok, *save = NULL;

	jw_obj_begin(NULL);
	strtok_r(line, " ", &save);
	while ((tok = strtok_r(NULL, " ", &save))) {
		char *eq = strchr(tok, '=');
		bool num = false;

		if (!eq)
			continue;
		*eq = 0;
		for (const char *const *k = numeric; *k; k++)
			num |= !strcmp(*k, tok);
		if (num)
			jw_u64(tok, strtoull(eq + 1, NULL, 10));
		else
			jw_str(tok, eq + 1);
	}
	jw_obj_end();
}

static int port_list(int argc, char **argv)
{
	char *reply = NULL, *line, *save = NULL;
	bool end = false;
	int rc;

	(void)argv;
	if (argc)
		return cli_usage("port list takes no arguments");
	if ((rc = port_request("list\n", true, &reply)))
		return rc;
	if (!strncmp(reply, "error ", 6)) {
		rc = port_answer(reply);
		free(reply);
		return rc;
	}
	if (cli.json)
		jw_arr_begin(NULL);
	for (line = strtok_r(reply, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(line, "end")) {
			end = true;
			break;
		}
		if (strncmp(line, "port ", 5))
			continue;
		if (cli.json)
			port_json(line);
		else
			printf("%s\n", line + 5);
	}
	if (cli.json) {
		jw_arr_end();
		jw_finish();
	}
	free(reply);
	if (!end) {
		cli_usage("vrouter-agent closed the connection before the end of the list");
		return CLI_EXIT_FAIL;
	}
	return 0;
}

int cmd_port(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "add", port_add }, { "del", port_del }, { "list", port_list }, { "show", port_list }, { NULL, NULL },
	};

	port_socket = getenv("VR_AGENT_SOCKET");
	if (!port_socket || !*port_socket)
		port_socket = PORT_SOCKET_DEFAULT;
	if (argc >= 1 && !strcmp(argv[0], "-s")) {
		if (argc < 2)
			return cli_usage("port -s: missing socket path");
		port_socket = argv[1];
		argc -= 2;
		argv += 2;
	}
	return cli_dispatch("port", cmds, argc, argv);
}
