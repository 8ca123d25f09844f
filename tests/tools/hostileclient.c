/* hostileclient: a misbehaving HTTP client for the hostile-input tests
 * (tests/e2e/hostile_*.sh). Modes:
 *
 *   hold   open N connections (from -b ADDR if given) and keep them for -t seconds, each
 *          sending nothing (-d 0) or dripping a never-ending request head one byte every
 *          -d seconds (slowloris). Prints one line:
 *            connected=C refused=R closed=X open=O
 *          C connections were established, R failed to connect, X were closed by the
 *          server before the end (a server that refuses over its per-IP limit accepts and
 *          closes at once), O were still open at the end.
 *   raw    send the request read from stdin ("\r\n" as is; no newline added) on one
 *          connection, then -s SIZE filler bytes ('a') if given, and print the status line
 *          of the answer ("none" when the server closed without one) and, on a second
 *          line, "bytes=N" (all bytes received). Reads until the server closes, 1 s passes
 *          without a byte after the answer began, or -t seconds in all.
 *
 * Usage: hostileclient hold|raw -a ADDR -p PORT [-b BIND_ADDR] [-n N] [-t SECONDS]
 *                               [-d DRIP_SECONDS] [-s SIZE] [-o FILE]
 * -o FILE (raw): the whole answer (status line, headers and body) goes to FILE.
 * Exit 0 when the mode ran (whatever the server did), 2 on bad usage or setup errors.
 * Single-threaded; poll(2) over every socket. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct opts {
	const char *addr, *bind_addr, *out;
	int port, n, secs, drip;
	long long size;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A non-blocking socket connecting to the target; -1 on a local error. */
static int dial(const struct opts *o)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->port) };
	if (inet_pton(AF_INET, o->addr, &sa.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (o->bind_addr) {
		struct sockaddr_in b = { .sin_family = AF_INET };
		if (inet_pton(AF_INET, o->bind_addr, &b.sin_addr) != 1 ||
		    bind(fd, (struct sockaddr *)&b, sizeof(b)) < 0) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -2;
	}
	return fd;
}

enum conn_state { C_CONNECTING, C_OPEN, C_CLOSED, C_REFUSED };

struct conns {
	struct pollfd *p;
	enum conn_state *st;
	size_t *sent; /* bytes of the request head dripped so far */
	int n;
};

static void conn_end(struct conns *cs, int i, enum conn_state st)
{
	cs->st[i] = st;
	close(cs->p[i].fd);
	cs->p[i].fd = -1;
}

/* One poll round's events for connection i; drip one byte if it is time. */
static void conn_step(struct conns *cs, int i, bool drip_now)
{
	static const char head[] = "GET /_ping HTTP/1.1\r\nHost: x\r\nX-Slow: ";
	char buf[4096];
	short re = cs->p[i].revents;
	if (cs->st[i] == C_CONNECTING && (re & (POLLOUT | POLLERR | POLLHUP))) {
		int err = 0;
		socklen_t l = sizeof(err);
		getsockopt(cs->p[i].fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			conn_end(cs, i, C_REFUSED);
			return;
		}
		cs->st[i] = C_OPEN;
		cs->p[i].events = POLLIN;
	}
	if (cs->st[i] == C_OPEN && (re & (POLLIN | POLLHUP | POLLERR)) &&
	    recv(cs->p[i].fd, buf, sizeof(buf), 0) <= 0) {
		conn_end(cs, i, C_CLOSED);
		return;
	}
	if (cs->st[i] == C_OPEN && drip_now) {
		char c = cs->sent[i] < sizeof(head) - 1 ? head[cs->sent[i]] : 'a';
		if (send(cs->p[i].fd, &c, 1, MSG_NOSIGNAL) == 1)
			cs->sent[i]++;
	}
}

static int hold(const struct opts *o)
{
	struct conns cs = { .p = calloc((size_t)o->n, sizeof(*cs.p)),
			    .st = calloc((size_t)o->n, sizeof(*cs.st)),
			    .sent = calloc((size_t)o->n, sizeof(*cs.sent)),
			    .n = o->n };
	int rc = 2;
	if (!cs.p || !cs.st || !cs.sent)
		goto out;
	for (int i = 0; i < o->n; i++)
		cs.p[i].fd = -1;
	for (int i = 0; i < o->n; i++) {
		cs.p[i].fd = dial(o);
		if (cs.p[i].fd == -1) {
			fprintf(stderr, "hostileclient: cannot make socket %d: %s\n", i, strerror(errno));
			goto out;
		}
		if (cs.p[i].fd < 0) {
			cs.st[i] = C_REFUSED;
			cs.p[i].fd = -1;
		}
		cs.p[i].events = POLLOUT | POLLIN;
	}
	int64_t end = now_ms() + (int64_t)o->secs * 1000, next_drip = now_ms();
	while (now_ms() < end) {
		int wait = (int)(end - now_ms());
		if (poll(cs.p, (nfds_t)o->n, wait > 200 ? 200 : wait) < 0 && errno != EINTR)
			break;
		bool drip_now = o->drip > 0 && now_ms() >= next_drip;
		for (int i = 0; i < o->n; i++)
			if (cs.p[i].fd >= 0)
				conn_step(&cs, i, drip_now);
		if (drip_now)
			next_drip = now_ms() + (int64_t)o->drip * 1000;
	}
	int c = 0, refused = 0, closed = 0, open_ = 0;
	for (int i = 0; i < o->n; i++) {
		c += cs.st[i] == C_OPEN || cs.st[i] == C_CLOSED;
		refused += cs.st[i] == C_REFUSED || cs.st[i] == C_CONNECTING;
		closed += cs.st[i] == C_CLOSED;
		open_ += cs.st[i] == C_OPEN;
	}
	printf("connected=%d refused=%d closed=%d open=%d\n", c, refused, closed, open_);
	rc = 0;
out:
	for (int i = 0; cs.p && i < o->n; i++)
		if (cs.p[i].fd >= 0)
			close(cs.p[i].fd);
	free(cs.p);
	free(cs.st);
	free(cs.sent);
	return rc;
}

static int wait_fd(int fd, short ev, int64_t end)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int64_t left = end - now_ms();
	if (left <= 0)
		return -1;
	return poll(&p, 1, (int)left) > 0 ? 0 : -1;
}

/* Send len bytes (filler 'a' when buf is NULL) before end; stops early if the server
 * closes. */
static void send_all(int fd, const char *buf, long long len, int64_t end)
{
	char fill[16384];
	memset(fill, 'a', sizeof(fill));
	long long done = 0;
	while (done < len && wait_fd(fd, POLLOUT, end) == 0) {
		size_t k = (size_t)(len - done < (long long)sizeof(fill) ? len - done
								    : (long long)sizeof(fill));
		ssize_t n = send(fd, buf ? buf + done : fill, k, MSG_NOSIGNAL);
		if (n <= 0 && errno != EAGAIN)
			return;
		if (n > 0)
			done += n;
	}
}

static int raw(const struct opts *o)
{
	size_t cap = 1 << 16, len = 0;
	char *req = malloc(cap);
	size_t n;
	while (req && (n = fread(req + len, 1, cap - len, stdin)) > 0) {
		len += n;
		if (len == cap)
			req = realloc(req, cap *= 2);
	}
	if (!req)
		return 2;
	int64_t end = now_ms() + (int64_t)o->secs * 1000;
	int fd = dial(o);
	if (fd < 0 || wait_fd(fd, POLLOUT, end) < 0) {
		printf("none (no connection)\nbytes=0\n");
		free(req);
		return 0;
	}
	send_all(fd, req, (long long)len, end);
	if (o->size > 0)
		send_all(fd, NULL, o->size, end);
	FILE *out = o->out ? fopen(o->out, "wb") : NULL;
	char first[512] = "", buf[65536];
	size_t flen = 0;
	long long total = 0;
	/* Read until the server closes, the deadline, or (once something came) 1 s of
	 * silence: a server that keeps the connection alive after its answer. */
	int64_t until = end;
	while (wait_fd(fd, POLLIN, until) == 0) {
		ssize_t k = recv(fd, buf, sizeof(buf), 0);
		if (k <= 0)
			break;
		if (out)
			fwrite(buf, 1, (size_t)k, out);
		for (ssize_t i = 0; i < k && flen < sizeof(first) - 1; i++) {
			if (buf[i] == '\r' || buf[i] == '\n') {
				flen = sizeof(first) - 1; /* first line complete */
				break;
			}
			first[flen++] = buf[i];
			first[flen] = '\0';
		}
		total += k;
		until = now_ms() + 1000 < end ? now_ms() + 1000 : end;
	}
	if (out)
		fclose(out);
	printf("%s\nbytes=%lld\n", first[0] ? first : "none", total);
	close(fd);
	free(req);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .addr = "127.0.0.1", .n = 1, .secs = 10 };
	if (argc < 2) {
		fprintf(stderr, "usage: hostileclient hold|raw -a ADDR -p PORT [-b BIND] [-n N] "
				"[-t SECONDS] [-d DRIP_SECONDS] [-s SIZE] [-o FILE]\n");
		return 2;
	}
	const char *mode = argv[1];
	int opt;
	optind = 2;
	while ((opt = getopt(argc, argv, "a:p:b:n:t:d:s:o:")) != -1) {
		switch (opt) {
		case 'a': o.addr = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 'b': o.bind_addr = optarg; break;
		case 'n': o.n = atoi(optarg); break;
		case 't': o.secs = atoi(optarg); break;
		case 'd': o.drip = atoi(optarg); break;
		case 's': o.size = atoll(optarg); break;
		case 'o': o.out = optarg; break;
		default: return 2;
		}
	}
	if (o.port <= 0 || o.n <= 0 || o.secs <= 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (strcmp(mode, "hold") == 0)
		return hold(&o);
	if (strcmp(mode, "raw") == 0)
		return raw(&o);
	fprintf(stderr, "hostileclient: unknown mode '%s'\n", mode);
	return 2;
}
