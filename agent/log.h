/* vrouter-agent logging: one line per message, "TIME LEVEL message", to stderr or to the configured file
 * (which then also receives stderr, so that libbpf's own messages land in the same place). Messages above
 * the configured level are dropped before they are formatted. */
#ifndef VR_AGENT_LOG_H
#define VR_AGENT_LOG_H

#include "config.h"

/* file: "" for stderr, else a path opened for appending. Returns 0 or -errno (the log stays on stderr). */
int vr_log_init(enum vr_agent_log_level level, const char *file);
void vr_log_set_level(enum vr_agent_log_level level);
enum vr_agent_log_level vr_log_level(void);
void vr_log(enum vr_agent_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) vr_log(VR_AGENT_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) vr_log(VR_AGENT_LOG_WARNING, __VA_ARGS__)
#define log_info(...) vr_log(VR_AGENT_LOG_INFO, __VA_ARGS__)
#define log_debug(...) vr_log(VR_AGENT_LOG_DEBUG, __VA_ARGS__)

#endif /* VR_AGENT_LOG_H */
