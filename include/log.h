/*
 * log: messages to stderr in the foreground, to syslog as a daemon.
 * Only the daemon's wiring (main.c) and servfail, whose job is the log,
 * call it; library modules return errors instead.
 */
#ifndef MXCACHE_LOG_H
#define MXCACHE_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_init(const char *ident, bool use_syslog, enum log_level level);
/* With syslog, also print errors on stderr (a daemon not yet detached). */
void log_errors_to_stderr(bool on);

/* After SIGHUP: reconnect to syslog (a restarted syslog daemon). */
void log_reopen(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
