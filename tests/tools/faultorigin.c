/* faultorigin: a small HTTP/1.1 origin server for the fault tests (tests/e2e/fault_*.sh).
 * It serves the files of one directory, as nginx would (HEAD, Range, If-Range, ETag,
 * Last-Modified), except that the first path segment names a fault to inject:
 *
 *   /ok/NAME        no fault
 *   /404/NAME       404 Not Found          /500/NAME   500 Internal Server Error
 *   /401/NAME       401 with a Basic challenge, unless "Authorization: Bearer ok" is sent
 *   /cut/NAME       the body stops at a third of what Content-Length promised; clean close
 *   /reset/NAME     the same, then the connection is reset (RST, SO_LINGER 0)
 *   /stall/NAME     the same, then nothing more: the connection stays open (-s seconds)
 *   /longlen/NAME   Content-Length says 1000 bytes more than the body; clean close after it
 *   /headlen/NAME   HEAD and one-byte probes report 1000 bytes less than a GET sends
 *   /change/NAME    every request sees other content (each byte XOR the request number),
 *                   with a new ETag and Last-Modified: a file replaced between requests
 *   /change+cut-1/NAME  both: "change" combines with any one of the others
 *
 * "-N" after the fault limits it to the first N requests of that path: for the status
 * faults all requests, for the others the body requests (cut-1: the first GET is cut, the
 * retry or resume is served whole; 404-1: the first request fails, later ones work).
 * Probes (HEAD, or a GET of the single byte 0-0) are never cut, reset, stalled or
 * lengthened: they learn the length first, as a real server would give it.
 *
 * Every request is logged as one line "METHOD PATH RANGE STATUS BODY_BYTES_SENT"
 * (RANGE "-" when none) to the -l file, flushed at once, so tests can count requests.
 *
 * Usage: faultorigin -d DIR [-a ADDR] [-p PORT] [-l LOG] [-s STALL_SECONDS]
 * Prints "faultorigin ready: port=N" on stdout when listening (port 0 picks one).
 * faultorigin -V ORIG FILE: prints "version K" (exit 0) when FILE is one whole version of
 * ORIG as /change/ serves them (every byte XOR K), else why not (exit 1).
 * One detached thread per connection; Connection: close on every answer. Threads share
 * the log (log_lock) and the per-path counters (count_lock); nothing else. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAD 16384
#define MAX_PATHS 256
#define LEN_SKEW 1000

enum fault { FT_OK, FT_404, FT_500, FT_401, FT_CUT, FT_RESET, FT_STALL, FT_LONGLEN, FT_HEADLEN,
	     FT_CHANGE };

static const struct {
	const char *name;
	enum fault f;
} faults[] = {
	{ "ok", FT_OK },		{ "404", FT_404 },	{ "500", FT_500 },
	{ "401", FT_401 },	{ "cut", FT_CUT },	{ "reset", FT_RESET },
	{ "stall", FT_STALL },	{ "longlen", FT_LONGLEN }, { "headlen", FT_HEADLEN },
	{ "change", FT_CHANGE },
};

static const char *root;
static int stall_s = 3600;
static FILE *log_fp;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* How many requests (all, and body requests) each path has seen. Guarded by count_lock. */
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char path[1024];
	unsigned all, body;
} counts[MAX_PATHS];

struct req {
	char method[16];
	char path[1024];
	char range[128];
	char if_range[128];
	bool bearer_ok;
};

static void count(const char *path, bool body, unsigned *all_r, unsigned *body_r)
{
	pthread_mutex_lock(&count_lock);
	size_t i;
	for (i = 0; i < MAX_PATHS && counts[i].path[0]; i++)
		if (strcmp(counts[i].path, path) == 0)
			break;
	if (i == MAX_PATHS)
		i = MAX_PATHS - 1; /* shared overflow slot: tests use far fewer paths */
	if (!counts[i].path[0])
		snprintf(counts[i].path, sizeof(counts[i].path), "%s", path);
	*all_r = ++counts[i].all;
	if (body)
		counts[i].body++;
	*body_r = counts[i].body;
	pthread_mutex_unlock(&count_lock);
}

static void log_req(const struct req *r, int status, int64_t sent)
{
	if (!log_fp)
		return;
	pthread_mutex_lock(&log_lock);
	fprintf(log_fp, "%s %s %s %d %" PRId64 "\n", r->method, r->path,
		r->range[0] ? r->range : "-", status, sent);
	fflush(log_fp);
	pthread_mutex_unlock(&log_lock);
}

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read the request head; returns its length or -1. */
static int read_head(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	while (len + 1 < cap) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return (int)len;
	}
	return -1;
}

static void header_value(const char *line, const char *name, char *out, size_t outsz)
{
	size_t n = strlen(name);
	if (strncasecmp(line, name, n) != 0 || line[n] != ':')
		return;
	const char *v = line + n + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t len = strcspn(v, "\r\n");
	if (len >= outsz)
		len = outsz - 1;
	memcpy(out, v, len);
	out[len] = '\0';
}

static int parse_req(char *head, struct req *r)
{
	memset(r, 0, sizeof(*r));
	char version[16];
	if (sscanf(head, "%15s %1023s %15s", r->method, r->path, version) != 3)
		return -1;
	for (char *line = strstr(head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
		char auth[128] = "";
		header_value(line + 2, "Range", r->range, sizeof(r->range));
		header_value(line + 2, "If-Range", r->if_range, sizeof(r->if_range));
		header_value(line + 2, "Authorization", auth, sizeof(auth));
		if (strcmp(auth, "Bearer ok") == 0)
			r->bearer_ok = true;
	}
	return 0;
}

/* "bytes=a-b", "bytes=a-", "bytes=-n" against size. 0, 1 (not satisfiable) or -1. */
static int parse_range(const char *s, int64_t size, int64_t *a_r, int64_t *b_r)
{
	long long a = -1, b = -1;
	if (strncmp(s, "bytes=", 6) != 0 || strchr(s, ','))
		return -1;
	s += 6;
	char *end;
	if (*s == '-') {
		long long n = strtoll(s + 1, &end, 10);
		if (*end || n <= 0)
			return -1;
		a = size > n ? size - n : 0;
		b = size - 1;
	} else {
		a = strtoll(s, &end, 10);
		if (*end != '-' || a < 0)
			return -1;
		b = end[1] ? strtoll(end + 1, &end, 10) : size - 1;
		if (*end || b < a)
			return -1;
	}
	if (a >= size)
		return 1;
	if (b >= size)
		b = size - 1;
	*a_r = a;
	*b_r = b;
	return 0;
}

static void reply_status(int fd, struct req *r, int status, const char *reason,
			 const char *extra)
{
	char buf[512];
	char body[128];
	int blen = snprintf(body, sizeof(body), "%d %s\n", status, reason);
	int n = snprintf(buf, sizeof(buf),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
			 "%sConnection: close\r\n\r\n",
			 status, reason, blen, extra ? extra : "");
	send_all(fd, buf, (size_t)n);
	if (strcmp(r->method, "HEAD") != 0)
		send_all(fd, body, (size_t)blen);
	log_req(r, status, strcmp(r->method, "HEAD") != 0 ? blen : 0);
}

/* Wait until the peer goes away or secs pass. */
static void hold(int fd, int secs)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	time_t until = time(NULL) + secs;
	char junk[512];
	while (time(NULL) < until) {
		if (poll(&p, 1, 1000) > 0) {
			ssize_t n = recv(fd, junk, sizeof(junk), 0);
			if (n <= 0)
				return;
		}
	}
}

/* Send file bytes [a, a+len) XOR x; stop after limit bytes. Returns the bytes sent. */
static int64_t send_body(int sock, int file, int64_t a, int64_t len, int64_t limit,
			 unsigned char x)
{
	static const size_t chunk = 64 * 1024;
	unsigned char *buf = malloc(chunk);
	int64_t sent = 0;
	if (!buf)
		return 0;
	while (sent < len && sent < limit) {
		size_t want = (size_t)(len - sent < (int64_t)chunk ? len - sent : (int64_t)chunk);
		if ((int64_t)want > limit - sent)
			want = (size_t)(limit - sent);
		ssize_t n = pread(file, buf, want, (off_t)(a + sent));
		if (n <= 0)
			break;
		if (x)
			for (ssize_t i = 0; i < n; i++)
				buf[i] ^= x;
		if (send_all(sock, buf, (size_t)n) < 0)
			break;
		sent += n;
	}
	free(buf);
	return sent;
}

/* "cut" or "cut-2": the fault and how many requests it hits (0 = all). */
static enum fault parse_one(const char *seg, size_t len, unsigned *limit_r)
{
	*limit_r = 0;
	const char *dash = memchr(seg, '-', len);
	size_t name_len = dash ? (size_t)(dash - seg) : len;
	if (dash)
		*limit_r = (unsigned)atoi(dash + 1);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		if (strlen(faults[i].name) == name_len && strncmp(seg, faults[i].name, name_len) == 0)
			return faults[i].f;
	return (enum fault)-1;
}

/* "change+cut-1": content that changes, and a delivery fault. Returns -1 when unknown. */
static int parse_fault(const char *seg, size_t len, enum fault *f_r, unsigned *limit_r,
		       bool *change_r)
{
	*f_r = FT_OK;
	*limit_r = 0;
	*change_r = false;
	while (len > 0) {
		const char *plus = memchr(seg, '+', len);
		size_t n = plus ? (size_t)(plus - seg) : len;
		unsigned limit;
		enum fault f = parse_one(seg, n, &limit);
		if ((int)f < 0)
			return -1;
		if (f == FT_CHANGE) {
			*change_r = true;
		} else {
			*f_r = f;
			*limit_r = limit;
		}
		seg += n;
		len -= n;
		if (plus) {
			seg++;
			len--;
		}
	}
	return 0;
}

/* What one request gets: decided from its path, before the file is read. */
struct plan {
	enum fault f;
	bool change, probe, head;
	unsigned nall; /* requests of this path so far, this one included */
	char fname[512];
};

/* The validators of the file as this request sees it (changing content: a new version). */
static void validators(const struct stat *st, const struct plan *pl, char *etag, size_t esz,
		       char *lm, size_t lmsz)
{
	time_t mtime = st->st_mtime + (pl->change ? pl->nall : 0);
	struct tm tm;
	snprintf(etag, esz, "\"%" PRIx64 "-%lx%s%u\"", (int64_t)st->st_size, (long)st->st_mtime,
		 pl->change ? "-v" : "", pl->change ? pl->nall : 0);
	gmtime_r(&mtime, &tm);
	strftime(lm, lmsz, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Serve the file with the plan's fault. */
static void serve_file(int fd, struct req *r, const struct plan *pl, int file,
		       const struct stat *st)
{
	char etag[64], lm[64], hdr[1024], cr[128] = "";
	validators(st, pl, etag, sizeof(etag), lm, sizeof(lm));
	int64_t shown = st->st_size; /* the length announced for the whole file */
	if (pl->f == FT_HEADLEN && pl->probe)
		shown = shown > LEN_SKEW ? shown - LEN_SKEW : 0;
	int64_t a = 0, b = shown - 1;
	int status = 200;
	if (r->range[0] && (!r->if_range[0] || strcmp(r->if_range, etag) == 0 ||
			    strcmp(r->if_range, lm) == 0)) {
		int rc = parse_range(r->range, shown, &a, &b);
		if (rc == 1) {
			snprintf(cr, sizeof(cr), "Content-Range: bytes */%" PRId64 "\r\n", shown);
			reply_status(fd, r, 416, "Range Not Satisfiable", cr);
			return;
		}
		if (rc == 0) {
			status = 206;
		} else { /* a Range we do not understand: the whole file */
			a = 0;
			b = shown - 1;
		}
	}
	int64_t len = b - a + 1;
	int64_t announced = len + (pl->f == FT_LONGLEN && !pl->probe ? LEN_SKEW : 0);
	if (status == 206)
		snprintf(cr, sizeof(cr), "Content-Range: bytes %" PRId64 "-%" PRId64 "/%" PRId64
			 "\r\n", a, b, shown);
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Type: application/octet-stream\r\n"
			 "Content-Length: %" PRId64 "\r\n%sAccept-Ranges: bytes\r\nETag: %s\r\n"
			 "Last-Modified: %s\r\nConnection: close\r\n\r\n",
			 status, status == 206 ? "Partial Content" : "OK", announced, cr, etag, lm);
	int64_t sent = 0;
	bool partial = !pl->probe && (pl->f == FT_CUT || pl->f == FT_RESET || pl->f == FT_STALL);
	if (send_all(fd, hdr, (size_t)n) == 0 && !pl->head)
		sent = send_body(fd, file, a, len, partial ? len / 3 : len,
				 pl->change ? (unsigned char)pl->nall : 0);
	log_req(r, status, sent);
	if (pl->f == FT_RESET && partial) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	} else if (pl->f == FT_STALL && partial) {
		hold(fd, stall_s);
	}
}

/* The fault for this request, from its path and the path's counters; false: no such
 * path (404). */
static bool make_plan(struct req *r, struct plan *pl)
{
	memset(pl, 0, sizeof(*pl));
	pl->head = strcmp(r->method, "HEAD") == 0;
	const char *seg = r->path + 1, *slash = strchr(seg, '/');
	unsigned limit = 0, nbody;
	if (!slash || parse_fault(seg, (size_t)(slash - seg), &pl->f, &limit, &pl->change) < 0)
		return false;
	const char *name = slash + 1, *q = strchr(name, '?');
	snprintf(pl->fname, sizeof(pl->fname), "%.*s", (int)(q ? q - name : (long)strlen(name)),
		 name);
	if (!pl->fname[0] || strchr(pl->fname, '/') || pl->fname[0] == '.')
		return false;
	pl->probe = pl->head || strcmp(r->range, "bytes=0-0") == 0;
	count(r->path, !pl->probe, &pl->nall, &nbody);
	bool status_fault = pl->f == FT_404 || pl->f == FT_500 || pl->f == FT_401;
	if (limit && (status_fault ? pl->nall > limit : !pl->probe && nbody > limit))
		pl->f = FT_OK;
	return true;
}

static void serve(int fd)
{
	char head[MAX_HEAD], path[1100];
	struct req r;
	struct plan pl;
	if (read_head(fd, head, sizeof(head)) < 0 || parse_req(head, &r) < 0)
		return;
	if (strcmp(r.method, "HEAD") != 0 && strcmp(r.method, "GET") != 0) {
		reply_status(fd, &r, 405, "Method Not Allowed", NULL);
		return;
	}
	if (!make_plan(&r, &pl) || pl.f == FT_404) {
		reply_status(fd, &r, 404, "Not Found", NULL);
		return;
	}
	if (pl.f == FT_500) {
		reply_status(fd, &r, 500, "Internal Server Error", NULL);
		return;
	}
	if (pl.f == FT_401 && !r.bearer_ok) {
		reply_status(fd, &r, 401, "Unauthorized",
			     "WWW-Authenticate: Basic realm=\"faultorigin\"\r\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", root, pl.fname);
	int file = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (file < 0 || fstat(file, &st) < 0 || !S_ISREG(st.st_mode))
		reply_status(fd, &r, 404, "Not Found", NULL);
	else
		serve_file(fd, &r, &pl, file, &st);
	if (file >= 0)
		close(file);
}

static void *conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	serve(fd);
	close(fd);
	return NULL;
}

static int listen_on(const char *addr, int port, int *port_r)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "faultorigin: '%s' is not an IPv4 address\n", addr);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 256) < 0) {
		fprintf(stderr, "faultorigin: cannot listen on %s:%d: %s\n", addr, port,
			strerror(errno));
		return -1;
	}
	socklen_t sl = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	*port_r = ntohs(sa.sin_port);
	return fd;
}

/* -V: is file one consistent version of orig? */
static int verify(const char *orig, const char *file)
{
	FILE *a = fopen(orig, "rb"), *b = fopen(file, "rb");
	int result = 1;
	if (!a || !b) {
		printf("cannot open %s\n", !a ? orig : file);
		goto out;
	}
	int ca, cb, x = -1;
	long long off = 0;
	for (;; off++) {
		ca = getc(a);
		cb = getc(b);
		if (ca == EOF || cb == EOF)
			break;
		if (x < 0)
			x = ca ^ cb;
		if ((ca ^ cb) != x) {
			printf("mixed at byte %lld\n", off);
			goto out;
		}
	}
	if (ca != cb) {
		printf("length differs\n");
		goto out;
	}
	printf("version %d\n", x < 0 ? 0 : x);
	result = 0;
out:
	if (a)
		fclose(a);
	if (b)
		fclose(b);
	return result;
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1", *log_path = NULL;
	int port = 0, opt;
	if (argc == 4 && strcmp(argv[1], "-V") == 0)
		return verify(argv[2], argv[3]);
	while ((opt = getopt(argc, argv, "d:a:p:l:s:h")) != -1) {
		switch (opt) {
		case 'd': root = optarg; break;
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'l': log_path = optarg; break;
		case 's': stall_s = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: faultorigin -d DIR [-a ADDR] [-p PORT] [-l LOG] "
					"[-s STALL_SECONDS]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!root) {
		fprintf(stderr, "faultorigin: -d DIR is required\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (log_path && !(log_fp = fopen(log_path, "a"))) {
		fprintf(stderr, "faultorigin: cannot open %s: %s\n", log_path, strerror(errno));
		return 1;
	}
	int bound = 0, lfd = listen_on(addr, port, &bound);
	if (lfd < 0)
		return 1;
	printf("faultorigin ready: port=%d\n", bound);
	fflush(stdout);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				usleep(10000);
				continue;
			}
			perror("faultorigin: accept");
			return 1;
		}
		pthread_t th;
		if (pthread_create(&th, &attr, conn_main, (void *)(intptr_t)c) != 0)
			close(c);
	}
}
