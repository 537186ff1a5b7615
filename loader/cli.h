/* vrouterctl internals: global options, error reporting, the JSON writer and the command handlers. */
#ifndef VR_CLI_H
#define VR_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include "libvrouter.h"

#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

struct cli_opts {
	bool json;
	bool pretty;
	int verbose;
	const char *pin_dir;
};
extern struct cli_opts cli;

struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

/* Run the first command whose name starts with argv[0] (unique-prefix friendly, bpftool style). */
int cli_dispatch(const char *object, const struct cli_cmd *cmds, int argc, char **argv);

/* "Error: ..." on stderr (or {"error": "..."} on stdout with -j); return the exit code. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#ifdef __clang_analyzer__
/* clang-tidy's analyzer does not follow the variadic cli_usage: tell it that it never returns 0. */
#define cli_usage(...) ({ int cli_usage_rc_ = cli_usage(__VA_ARGS__); cli_usage_rc_ ? cli_usage_rc_ : CLI_EXIT_USAGE; })
#endif
/* Where the input being parsed came from ("routes.txt:12: "), put in front of every error; "" if argv. */
extern char cli_where[64];
int cli_fail(const char *what);

/* Open the pinned instance or report why not. */
int cli_open(struct vr_handle *h);

/* key/value argument lists: "vrf 1 mac 02:.. ip 10.0.0.1". Returns 0 or a usage exit code. */
struct cli_kv {
	const char *key;
	const char *val;
	bool seen;
};
int cli_parse_kv(int argc, char **argv, struct cli_kv *kv, int nkv);

int cli_arg_ipv4(const char *what, const char *s, __be32 *out);
int cli_arg_ipv6(const char *what, const char *s, struct in6_addr *out);
int cli_arg_u32(const char *what, const char *s, __u32 max, __u32 *out);
int cli_arg_mac(const char *what, const char *s, __u8 mac[6]);

const char *cli_ip(__be32 addr, char buf[16]);
const char *cli_ip6(const struct in6_addr *addr, char buf[INET6_ADDRSTRLEN]);
const char *cli_mac(const __u8 mac[6], char buf[18]);
const char *cli_ifname(__u32 ifindex, char buf[16]);

/* A small streaming JSON writer (plain or pretty). */
void jw_obj_begin(const char *key);
void jw_obj_end(void);
void jw_arr_begin(const char *key);
void jw_arr_end(void);
void jw_str(const char *key, const char *val);
void jw_u64(const char *key, uint64_t val);
void jw_finish(void);

int cmd_load(int argc, char **argv);
int cmd_unload(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_vrf(int argc, char **argv);
int cmd_vif(int argc, char **argv);
int cmd_route(int argc, char **argv);
int cmd_label(int argc, char **argv);
int cmd_nexthop(int argc, char **argv);
int cmd_endpoint(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_port(int argc, char **argv);
int cmd_gateway(int argc, char **argv);
int cmd_nat(int argc, char **argv);

#endif /* VR_CLI_H */
