/* Logging. The destination fd and level are atomics; the path is guarded by path_lock, taken
 * only by open/reopen/close (never on the logging fast path). */
#include "config.h"
#include "log.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_ident = "dragonfly";
static int log_level = DF_LOG_INFO;    /* atomic */
static int log_fd = STDERR_FILENO;     /* atomic */
static int log_tee;                    /* atomic: copy lines to stderr too */
static char *log_path;                 /* guarded by path_lock */
static pthread_mutex_t path_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };

void df_log_set_ident(const char *ident)
{
	log_ident = ident;
}

void df_log_set_level(enum df_log_level level)
{
	__atomic_store_n(&log_level, (int)level, __ATOMIC_RELAXED);
}

enum df_log_level df_log_get_level(void)
{
	return (enum df_log_level)__atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

void df_log_set_tee_stderr(bool on)
{
	__atomic_store_n(&log_tee, on ? 1 : 0, __ATOMIC_RELAXED);
}

bool df_log_enabled(enum df_log_level level)
{
	return (int)level <= __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

bool df_log_parse_level(const char *name, enum df_log_level *level_r)
{
	static const struct {
		const char *name;
		enum df_log_level level;
	} names[] = {
		{ "error", DF_LOG_ERROR }, { "warn", DF_LOG_WARN }, { "warning", DF_LOG_WARN },
		{ "info", DF_LOG_INFO },   { "debug", DF_LOG_DEBUG },
	};
	for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(name, names[i].name) == 0) {
			*level_r = names[i].level;
			return true;
		}
	}
	return false;
}

static int open_path(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	return fd < 0 ? -errno : fd;
}

/* Point the logger at fd (ownership taken). When a file is already open, dup2 replaces it
 * in place, atomically: a concurrent writer never sees a closed descriptor. Caller holds
 * path_lock. */
static void swap_fd_locked(int fd)
{
	int cur = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
	if (fd == STDERR_FILENO) {
		/* Back to stderr: the old file descriptor is leaked on purpose (one per
		 * switch), since a concurrent writer may still hold it. */
		__atomic_store_n(&log_fd, STDERR_FILENO, __ATOMIC_RELEASE);
		return;
	}
	if (cur != STDERR_FILENO && dup2(fd, cur) >= 0) {
		close(fd);
		return;
	}
	__atomic_store_n(&log_fd, fd, __ATOMIC_RELEASE);
}

int df_log_open(const char *path)
{
	if (!path || strcmp(path, "-") == 0) {
		pthread_mutex_lock(&path_lock);
		free(log_path);
		log_path = NULL;
		swap_fd_locked(STDERR_FILENO);
		pthread_mutex_unlock(&path_lock);
		return 0;
	}
	int fd = open_path(path);
	if (fd < 0)
		return fd;
	char *copy = strdup(path);
	if (!copy) {
		close(fd);
		return -ENOMEM;
	}
	pthread_mutex_lock(&path_lock);
	free(log_path);
	log_path = copy;
	swap_fd_locked(fd);
	pthread_mutex_unlock(&path_lock);
	return 0;
}

int df_log_reopen(void)
{
	int result = 0;
	pthread_mutex_lock(&path_lock);
	if (log_path) {
		int fd = open_path(log_path);
		if (fd < 0)
			result = fd;
		else
			swap_fd_locked(fd);
	}
	pthread_mutex_unlock(&path_lock);
	return result;
}

void df_log_close(void)
{
	df_log_open(NULL);
}

size_t df_log_format(char *buf, size_t bufsz, double unix_time, const char *ident,
		     enum df_log_level level, int errnum, const char *msg)
{
	if (bufsz == 0)
		return 0;
	time_t secs = (time_t)unix_time;
	int millis = (int)((unix_time - (double)secs) * 1000.0);
	if (millis < 0 || millis > 999)
		millis = 0;
	struct tm tm;
	gmtime_r(&secs, &tm);
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	int lvl = (int)level;
	if (lvl < 0 || lvl > DF_LOG_DEBUG)
		lvl = DF_LOG_ERROR;
	int n;
	if (errnum != 0) {
		char ebuf[128];
		const char *es = strerror_r(errnum < 0 ? -errnum : errnum, ebuf, sizeof(ebuf));
		n = snprintf(buf, bufsz, "%s.%03dZ %s[%ld] %s %s: %s", stamp, millis, ident,
			     (long)getpid(), level_names[lvl], msg, es);
	} else {
		n = snprintf(buf, bufsz, "%s.%03dZ %s[%ld] %s %s", stamp, millis, ident,
			     (long)getpid(), level_names[lvl], msg);
	}
	if (n < 0)
		n = 0;
	return (size_t)n < bufsz ? (size_t)n : bufsz - 1;
}

void df_log_msg(enum df_log_level level, int errnum, const char *fmt, ...)
{
	if (!df_log_enabled(level))
		return;
	int saved_errno = errno;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	struct timeval tv;
	gettimeofday(&tv, NULL);
	char line[2300];
	size_t len = df_log_format(line, sizeof(line) - 1, (double)tv.tv_sec + tv.tv_usec / 1e6,
				   log_ident, level, errnum, msg);
	line[len++] = '\n';
	int fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
	/* One write per line; a short write on a full disk is not worth retrying. */
	ssize_t w = write(fd, line, len);
	if (fd != STDERR_FILENO && __atomic_load_n(&log_tee, __ATOMIC_RELAXED))
		w = write(STDERR_FILENO, line, len);
	(void)w;
	errno = saved_errno;
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
/* Only async-signal-safe calls from here: write(2), backtrace_symbols_fd (backtrace itself
 * was called once at install, so that it needs no allocation now). */
static void put(int fd, const char *str)
{
	ssize_t r = write(fd, str, strlen(str));
	(void)r;
}

/* "<ident>: FATAL: signal 11 (SIGSEGV), a bug: please report it<tail>" */
static void put_fatal_line(int fd, int sig, const char *tail)
{
	char num[12];
	int i = (int)sizeof(num) - 1;
	num[i] = '\0';
	for (int v = sig; v > 0 && i > 0; v /= 10)
		num[--i] = (char)('0' + v % 10);
	const char *abbrev = sigabbrev_np(sig);
	put(fd, log_ident);
	put(fd, ": FATAL: signal ");
	put(fd, num + i);
	put(fd, " (SIG");
	put(fd, abbrev ? abbrev : "?");
	put(fd, "), a bug: please report it");
	put(fd, tail);
}

static void on_fatal_signal(int sig)
{
	int fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
	put_fatal_line(fd, sig, " with these lines; backtrace:\n");
	void *frames[64];
	int n = backtrace(frames, 64);
	backtrace_symbols_fd(frames, n, fd);
	/* A command-line user sees only the terminal: say where the details went. */
	if (fd != STDERR_FILENO)
		put_fatal_line(STDERR_FILENO, sig,
			       " with the backtrace now at the end of the log file\n");
	/* SA_RESETHAND restored the default action: die of the same signal. */
	raise(sig);
}

bool df_log_install_crash_handler(void)
{
	void *warm[2];
	(void)backtrace(warm, 2); /* loads libgcc's unwinder now, not in the handler */
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
		if (sigaction(sigs[k], &sa, NULL) < 0)
			return false;
	return true;
}
#else
bool df_log_install_crash_handler(void)
{
	return false; /* the sanitizer's own report says more */
}
#endif
