/* Finding or starting the host's uploader, and its local endpoints (see uplink.h).
 *
 * Starting: under an exclusive flock on <home>/meta/lock (bounded wait), read host.meta and
 * ping; if nobody answers, fork/exec `dfget server` detached (double fork, new session,
 * stdio on /dev/null, no inherited descriptors) and wait, bounded, until it publishes its
 * port in host.meta and answers. The task file is registered (/check) before the lock is
 * released, so an idle uploader deciding to exit (it takes the same lock) cannot race
 * with us. No shared state; the caller's easy handle. */
#include "config.h"
#include "uplink.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpc.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"

#define LOCK_WAIT_MS 15000
#define START_WAIT_MS 10000

static int local_get(CURL *h, const char *url, const char *const *headers, long timeout_ms,
		     struct df_http_response *resp, char *err, size_t errsz)
{
	struct df_http_request req = {
		.url = url,
		.headers = headers,
		.timeout_ms = timeout_ms,
		.connect_timeout_ms = 1000,
		.max_body = 64 * 1024,
	};
	memset(resp, 0, sizeof(*resp));
	return df_http_do(h, &req, resp, err, errsz);
}

bool dg_uplink_ping(CURL *h, uint16_t port)
{
	char url[64], err[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/server/ping", (unsigned)port);
	struct df_http_response resp;
	bool ok = local_get(h, url, NULL, 2000, &resp, err, sizeof(err)) == 0 &&
		  resp.status == 200 && strcmp(resp.body, "success") == 0;
	df_http_response_cleanup(&resp);
	return ok;
}

static int lock_home(const struct dg_home *home, int *fd_r, char *err, size_t errsz)
{
	int fd = open(home->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errsz, "cannot open %s: %s", home->lock, strerror(e));
		return -e;
	}
	int64_t deadline = df_mono_ms() + LOCK_WAIT_MS;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int e = errno;
			snprintf(err, errsz, "cannot lock %s: %s", home->lock, strerror(e));
			close(fd);
			return -e;
		}
		if (df_mono_ms() > deadline) {
			snprintf(err, errsz, "%s stayed locked for %d s (a stuck dfget?)", home->lock,
				 LOCK_WAIT_MS / 1000);
			close(fd);
			return -ETIMEDOUT;
		}
		df_sleep_ms(5);
	}
	*fd_r = fd;
	return 0;
}

/* Start `exe server ...` fully detached. Only async-signal-safe calls after fork. */
static int spawn(const struct dg_uplink_opts *o, char *err, size_t errsz)
{
	char alive[32], expire[32], port[16];
	snprintf(alive, sizeof(alive), "%" PRId64 "ms", o->alive_ms > 0 ? o->alive_ms : 300000);
	snprintf(expire, sizeof(expire), "%" PRId64 "ms",
		 o->expire_ms > 0 ? o->expire_ms : 180000);
	snprintf(port, sizeof(port), "%u", (unsigned)o->port);
	char *argv[16];
	int n = 0;
	argv[n++] = (char *)(uintptr_t)o->exe;
	argv[n++] = (char *)(uintptr_t)"server";
	argv[n++] = (char *)(uintptr_t)"--home";
	argv[n++] = o->home->root;
	argv[n++] = (char *)(uintptr_t)"--port";
	argv[n++] = port;
	argv[n++] = (char *)(uintptr_t)"--alivetime";
	argv[n++] = alive;
	argv[n++] = (char *)(uintptr_t)"--expiretime";
	argv[n++] = expire;
	if (o->verbose)
		argv[n++] = (char *)(uintptr_t)"--verbose";
	argv[n] = NULL;

	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		snprintf(err, errsz, "cannot start the uploader: fork: %s", strerror(e));
		return -e;
	}
	if (pid == 0) {
		setsid();
		pid_t g = fork();
		if (g != 0)
			_exit(g < 0 ? 1 : 0);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		close_range(3, ~0U, 0);
		execv(o->exe, argv);
		_exit(127);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return 0;
}

/* Wait until a fresh uploader published its port and answers. */
static int wait_started(CURL *h, const struct dg_uplink_opts *o, uint16_t *port_r, char *err,
			size_t errsz)
{
	int64_t deadline = df_mono_ms() + START_WAIT_MS;
	unsigned delay = 2;
	while (df_mono_ms() < deadline) {
		uint16_t port = 0;
		if (dg_host_meta_read(o->home->host_meta, &port) == 0 && port != 0 &&
		    dg_uplink_ping(h, port)) {
			*port_r = port;
			return 0;
		}
		df_sleep_ms(delay);
		if (delay < 50)
			delay *= 2;
	}
	snprintf(err, errsz, "the uploader (%s server) did not start within %d s; see %s/dfserver.log",
		 o->exe, START_WAIT_MS / 1000, o->home->logs);
	return -ETIMEDOUT;
}

static int check(CURL *h, uint16_t port, const struct dg_home *home, const char *name,
		 int64_t total_limit, char *err, size_t errsz)
{
	char url[512], dd[600], tl[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/check/%s", (unsigned)port, name);
	char *real = realpath(home->data, NULL);
	snprintf(dd, sizeof(dd), "dataDir: %s", real ? real : home->data);
	free(real);
	snprintf(tl, sizeof(tl), "totalLimit: %" PRId64, total_limit);
	const char *hdrs[] = { dd, tl, NULL };
	struct df_http_response resp;
	int rc = local_get(h, url, hdrs, 3000, &resp, err, errsz);
	if (rc == 0 && (resp.status != 200 || strncmp(resp.body, name, strlen(name)) != 0)) {
		snprintf(err, errsz, "uploader refused %s: HTTP %ld %.120s", name, resp.status,
			 resp.body);
		/* 403: it serves another work home (its port was reused) */
		rc = resp.status == 403 ? -EACCES : -EPROTO;
	}
	df_http_response_cleanup(&resp);
	return rc;
}

int dg_uplink_ensure(CURL *h, const struct dg_uplink_opts *o, const char *task_file_name,
		     int64_t total_limit, uint16_t *port_r, char *err, size_t errsz)
{
	int lockfd = -1;
	int result = lock_home(o->home, &lockfd, err, errsz);
	if (result < 0)
		return result;
	uint16_t port = 0;
	bool running = dg_host_meta_read(o->home->host_meta, &port) == 0 && port != 0 &&
		       dg_uplink_ping(h, port);
	if (running) {
		result = check(h, port, o->home, task_file_name, total_limit, err, errsz);
		if (result != -EACCES)
			goto out;
		log_warn("port %u belongs to another work home's uploader", (unsigned)port);
		dg_host_meta_write(o->home->host_meta, 0);
	}
	log_info("starting the uploader for %s", o->home->root);
	result = spawn(o, err, errsz);
	if (result == 0)
		result = wait_started(h, o, &port, err, errsz);
	if (result == 0)
		result = check(h, port, o->home, task_file_name, total_limit, err, errsz);
out:
	if (result == 0)
		*port_r = port;
	close(lockfd);
	return result;
}

int dg_uplink_rate(CURL *h, uint16_t port, const char *task_file_name, int64_t want,
		   int64_t *rate_r)
{
	char url[512], hdr[64], err[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/rate/%s", (unsigned)port, task_file_name);
	snprintf(hdr, sizeof(hdr), "rateLimit: %" PRId64, want);
	const char *hdrs[] = { hdr, NULL };
	struct df_http_response resp;
	int rc = local_get(h, url, hdrs, 2000, &resp, err, sizeof(err));
	if (rc == 0) {
		char *end;
		long long v = strtoll(resp.body, &end, 10);
		if (resp.status != 200 || end == resp.body || v < 0)
			rc = -EPROTO;
		else
			*rate_r = v;
	}
	if (rc < 0)
		log_debug("rate ask to the uploader failed: %s", rc == -EPROTO ? resp.body : err);
	df_http_response_cleanup(&resp);
	return rc;
}

int dg_uplink_finish(CURL *h, uint16_t port, const char *task_file_name, const char *task_id,
		     const char *cid, const char *supernode)
{
	char *n = df_url_escape(task_file_name), *t = df_url_escape(task_id),
	     *c = df_url_escape(cid), *s = df_url_escape(supernode ? supernode : "");
	char *url = xasprintf("http://127.0.0.1:%u/client/finish?taskFileName=%s&taskID=%s&cid=%s"
			      "&superNode=%s",
			      (unsigned)port, n, t, c, s);
	char err[256];
	struct df_http_response resp;
	int rc = local_get(h, url, NULL, 3000, &resp, err, sizeof(err));
	if (rc == 0 && resp.status != 200)
		rc = -EPROTO;
	if (rc < 0)
		log_warn("telling the uploader that %s is finished failed: %s", task_file_name,
			 rc == -EPROTO ? resp.body : err);
	df_http_response_cleanup(&resp);
	free(url);
	free(n);
	free(t);
	free(c);
	free(s);
	return rc;
}
