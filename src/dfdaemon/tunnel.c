/* CONNECT tunnels and the hand-off of hijacked ones (see tunnel.h). Each tunnel runs on
 * the thread of its connection and shares nothing but the read-only context and the
 * atomic counters. */
#include "config.h"
#include "tunnel.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctx.h"
#include "log.h"
#include "rules.h"
#include "server.h"
#include "timeutil.h"
#include "urlutil.h"

#define HEAD_MAX 16384
#define HEAD_MS 10000
#define IDLE_MS (10 * 60 * 1000)

int dd_connect_parse(const char *head, size_t len, char *target_r, size_t targetsz)
{
	if (len < 8 || memcmp(head, "CONNECT ", 8) != 0)
		return -EINVAL;
	const char *t = head + 8, *end = head + len;
	const char *sp = memchr(t, ' ', (size_t)(end - t));
	if (!sp || sp == t || (size_t)(sp - t) >= targetsz)
		return -EINVAL;
	const char *eol = memchr(sp, '\n', (size_t)(end - sp));
	if (!eol || eol - sp < 9 || strncmp(sp + 1, "HTTP/1.", 7) != 0)
		return -EINVAL;
	memcpy(target_r, t, (size_t)(sp - t));
	target_r[sp - t] = '\0';
	char host[256];
	uint16_t port;
	return dd_authority_parse(target_r, host, sizeof(host), &port);
}

/* Read the request head (through the blank line) and no byte more. Returns its length,
 * or -1. */
static ssize_t read_head(int fd, char *buf, size_t cap)
{
	int64_t deadline = df_mono_ms() + HEAD_MS;
	while (df_mono_ms() < deadline) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 200) <= 0)
			continue;
		ssize_t n = recv(fd, buf, cap - 1, MSG_PEEK);
		if (n <= 0)
			return -1;
		buf[n] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		size_t want = end ? (size_t)(end - buf) + 4 : 0;
		if (!end && (end = strstr(buf, "\n\n")) != NULL)
			want = (size_t)(end - buf) + 2;
		if (want)
			return recv(fd, buf, want, 0) == (ssize_t)want ? (ssize_t)want : -1;
		if ((size_t)n >= cap - 1)
			return -1;
		df_sleep_ms(5);
	}
	return -1;
}

static void say(int fd, const char *status, const char *text)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg),
			 "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n%s",
			 status, strlen(text), text);
	if (n > 0)
		(void)!send(fd, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1,
			    MSG_NOSIGNAL);
}

/* Connect to host:port within timeout_ms. Returns the socket or -errno. */
static int dial(const char *host, uint16_t port, int64_t timeout_ms)
{
	char ports[8];
	snprintf(ports, sizeof(ports), "%u", port);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	if (getaddrinfo(host, ports, &hints, &res) != 0)
		return -EHOSTUNREACH;
	int rc = -ECONNREFUSED;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			rc = -errno;
			close(fd);
			continue;
		}
		struct pollfd p = { fd, POLLOUT, 0 };
		int err = 0;
		socklen_t len = sizeof(err);
		if (poll(&p, 1, (int)timeout_ms) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			freeaddrinfo(res);
			return fd;
		}
		rc = err ? -err : -ETIMEDOUT;
		close(fd);
	}
	freeaddrinfo(res);
	return rc;
}

/* Copy what is readable on from to to. Returns false at EOF or error. */
static bool pump(int from, int to)
{
	char buf[65536];
	ssize_t n = recv(from, buf, sizeof(buf), 0);
	if (n <= 0)
		return false;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = send(to, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w <= 0)
			return false;
		off += w;
	}
	return true;
}

/* Bytes both ways until both directions ended or the tunnel idled too long. */
static void splice_both(int a, int b)
{
	bool open_ab = true, open_ba = true;
	while (open_ab || open_ba) {
		struct pollfd p[2] = { { open_ab ? a : -1, POLLIN, 0 }, { open_ba ? b : -1, POLLIN, 0 } };
		int n = poll(p, 2, IDLE_MS);
		if (n <= 0)
			break;
		if (open_ab && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) && !pump(a, b)) {
			open_ab = false;
			shutdown(b, SHUT_WR);
		}
		if (open_ba && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) && !pump(b, a)) {
			open_ba = false;
			shutdown(a, SHUT_WR);
		}
	}
}

void dd_tunnel_serve(struct dd_ctx *ctx, struct dd_server *srv, int fd,
		     const struct sockaddr *sa, socklen_t salen)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	char head[HEAD_MAX], target[300], host[256];
	uint16_t port = 0;
	ssize_t n = read_head(fd, head, sizeof(head));
	if (n < 0 || dd_connect_parse(head, (size_t)n, target, sizeof(target)) < 0 ||
	    dd_authority_parse(target, host, sizeof(host), &port) < 0) {
		say(fd, "400 Bad Request", "dfdaemon: want CONNECT host:port HTTP/1.1\n");
		close(fd);
		return;
	}
	if (ctx->ca && dd_hosts_match(&ctx->s->hijack, target)) {
		log_info("CONNECT %s: hijacking (HTTPS with a certificate of our CA)", target);
		atomic_fetch_add(&ctx->stats.hijacked, 1);
		if (send(fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(ok) - 1) {
			close(fd);
			return;
		}
		dd_server_add(srv, DD_FROM_HIJACK, fd, sa, salen);
		return;
	}
	int up = dial(host, port, ctx->s->upstream_timeout);
	if (up < 0) {
		char text[400];
		snprintf(text, sizeof(text), "dfdaemon: cannot connect to %s: %s\n", target,
			 strerror(-up));
		log_warn("CONNECT %s: %s", target, strerror(-up));
		say(fd, "502 Bad Gateway", text);
		close(fd);
		return;
	}
	atomic_fetch_add(&ctx->stats.tunnels, 1);
	log_debug("CONNECT %s: tunnel open", target);
	if (send(fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL) == (ssize_t)sizeof(ok) - 1)
		splice_both(fd, up);
	close(up);
	close(fd);
}
