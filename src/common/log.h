/* Logging: levels, timestamps, printf-checked formats, to stderr or a file.
 *
 * One process-wide logger. Every function is thread-safe: a line is formatted in a local
 * buffer and written with one write(2), so lines from several threads never interleave.
 * df_log_reopen() is what a SIGHUP handler's main loop calls after logrotate moved the file.
 */
#ifndef DF_LOG_H
#define DF_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum df_log_level {
	DF_LOG_ERROR = 0,
	DF_LOG_WARN = 1,
	DF_LOG_INFO = 2,
	DF_LOG_DEBUG = 3,
};

/* The program name shown on each line ("supernode"). Borrowed: must outlive the logger. */
void df_log_set_ident(const char *ident);
void df_log_set_level(enum df_log_level level);
enum df_log_level df_log_get_level(void);
/* "error", "warn"/"warning", "info", "debug" (any case). */
bool df_log_parse_level(const char *name, enum df_log_level *level_r);

/* Log to PATH (appended, created 0640), or to stderr when PATH is NULL or "-".
 * Returns 0 or -errno; on failure the previous destination stays. */
int df_log_open(const char *path);
/* Reopen the current file (after rotation). No-op for stderr. Returns 0 or -errno. */
int df_log_reopen(void);
void df_log_close(void);
/* Also copy every line to stderr while logging to a file (a --console flag). */
void df_log_set_tee_stderr(bool on);

bool df_log_enabled(enum df_log_level level);

/* On a fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT: a bug), write one line naming
 * the signal and a backtrace (module+offset, for addr2line) to the log (and, when the log
 * is a file, the line and where the backtrace went to stderr), then die of the same
 * signal (a core where enabled): a crash in production leaves its place behind.
 * Not installed in sanitizer builds, whose own reports say more. Returns true if installed. */
bool df_log_install_crash_handler(void);

/* errnum: 0 for none, else an errno value (either sign) appended as ": strerror". */
void df_log_msg(enum df_log_level level, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Format one log line (no trailing newline) into buf; for tests and for df_log_msg.
 * Returns the length written (truncated to bufsz - 1). */
size_t df_log_format(char *buf, size_t bufsz, double unix_time, const char *ident,
		     enum df_log_level level, int errnum, const char *msg);

#define log_error(...) df_log_msg(DF_LOG_ERROR, 0, __VA_ARGS__)
#define log_warn(...) df_log_msg(DF_LOG_WARN, 0, __VA_ARGS__)
#define log_info(...) df_log_msg(DF_LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...)                                                                     \
	do {                                                                                \
		if (df_log_enabled(DF_LOG_DEBUG))                                           \
			df_log_msg(DF_LOG_DEBUG, 0, __VA_ARGS__);                           \
	} while (0)
/* Like log_error / log_warn, with ": strerror(err)" appended (err may be -errno). */
#define log_errno(err, ...) df_log_msg(DF_LOG_ERROR, (err), __VA_ARGS__)
#define log_warn_errno(err, ...) df_log_msg(DF_LOG_WARN, (err), __VA_ARGS__)

#endif
