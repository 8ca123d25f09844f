/* The plain-HTTP listener and its connection sniffer (see listener.h). The accept thread
 * owns the listening socket; each sniffer thread owns its connection until it hands it
 * on. Shared: the context (read-only) and an atomic count of sniffers. */
#include "config.h"
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctx.h"
#include "log.h"
#include "server.h"
#include "timeutil.h"
#include "tunnel.h"
#include "xalloc.h"

#define FIRST_BYTES_MS 30000
#define MAX_SNIFFERS 1024

struct dd_listener {
	struct dd_ctx *ctx;
	struct dd_server *srv;
	int fd;
	pthread_t thread;
	atomic_bool stop;
	atomic_int sniffers;
};

struct conn {
	struct dd_listener *l;
	int fd;
	struct sockaddr_storage sa;
	socklen_t salen;
};

enum dd_sniff dd_sniff(const char *buf, size_t len)
{
	static const char connect[] = "CONNECT ";
	if (len == 0)
		return DD_SNIFF_MORE;
	if ((unsigned char)buf[0] == 0x16)
		return DD_SNIFF_TLS;
	size_t n = len < 8 ? len : 8;
	if (memcmp(buf, connect, n) == 0)
		return len < 8 ? DD_SNIFF_MORE : DD_SNIFF_CONNECT;
	return DD_SNIFF_HTTP;
}

/* Tell a TLS client at once that this port speaks plain HTTP, then close gently (the
 * unread ClientHello must not turn our answer into a reset). */
static void refuse_tls(struct dd_ctx *ctx, int fd)
{
	static const char body[] = "dfdaemon: this port speaks plain HTTP, not TLS\n";
	char msg[256];
	int n = snprintf(msg, sizeof(msg),
			 "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			 sizeof(body) - 1, body);
	atomic_fetch_add(&ctx->stats.tls_probes, 1);
	log_debug("a TLS handshake on the plain-HTTP port: answered 400");
	if (send(fd, msg, (size_t)n, MSG_NOSIGNAL) < 0)
		return;
	shutdown(fd, SHUT_WR);
	char sink[4096];
	int64_t deadline = df_mono_ms() + 1000;
	while (df_mono_ms() < deadline) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 200) <= 0)
			continue;
		if (recv(fd, sink, sizeof(sink), 0) <= 0)
			break;
	}
}

/* Wait for the first bytes and classify them. */
static enum dd_sniff sniff_fd(struct dd_listener *l, int fd)
{
	char buf[8];
	int64_t deadline = df_mono_ms() + FIRST_BYTES_MS;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (df_mono_ms() > deadline || atomic_load(&l->stop))
			return DD_SNIFF_MORE;
		int pr = poll(&p, 1, 200);
		if (pr < 0)
			return DD_SNIFF_MORE;
		if (pr == 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK);
		if (n <= 0)
			return DD_SNIFF_MORE;
		enum dd_sniff k = dd_sniff(buf, (size_t)n);
		if (k != DD_SNIFF_MORE)
			return k;
		df_sleep_ms(5); /* a partial "CONNECT": the rest is on its way */
	}
}

static void *sniffer_main(void *arg)
{
	struct conn *c = arg;
	struct dd_listener *l = c->l;
	switch (sniff_fd(l, c->fd)) {
	case DD_SNIFF_TLS:
		refuse_tls(l->ctx, c->fd);
		close(c->fd);
		break;
	case DD_SNIFF_CONNECT:
		dd_tunnel_serve(l->ctx, l->srv, c->fd, (struct sockaddr *)&c->sa, c->salen);
		break;
	case DD_SNIFF_HTTP:
		dd_server_add(l->srv, DD_FROM_PLAIN, c->fd, (struct sockaddr *)&c->sa, c->salen);
		break;
	default:
		close(c->fd);
		break;
	}
	atomic_fetch_sub(&l->sniffers, 1);
	free(c);
	return NULL;
}

static void spawn(struct dd_listener *l, int fd, struct sockaddr_storage *sa, socklen_t len)
{
	if (atomic_fetch_add(&l->sniffers, 1) >= MAX_SNIFFERS) {
		atomic_fetch_sub(&l->sniffers, 1);
		log_warn("too many new connections at once: closing one");
		close(fd);
		return;
	}
	struct conn *c = xcalloc(1, sizeof(*c));
	c->l = l;
	c->fd = fd;
	c->sa = *sa;
	c->salen = len;
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, sniffer_main, c) != 0) {
		atomic_fetch_sub(&l->sniffers, 1);
		close(fd);
		free(c);
	}
	pthread_attr_destroy(&attr);
}

static void *accept_main(void *arg)
{
	struct dd_listener *l = arg;
	while (!atomic_load(&l->stop)) {
		struct pollfd p = { l->fd, POLLIN, 0 };
		if (poll(&p, 1, 200) <= 0)
			continue;
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		int fd = accept4(l->fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				df_sleep_ms(50);
			continue;
		}
		spawn(l, fd, &sa, len);
	}
	return NULL;
}

struct dd_listener *dd_listener_start(struct dd_ctx *ctx, struct dd_server *srv,
				      const char *addr, uint16_t port, uint16_t *port_r,
				      char *err, size_t errsz)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	socklen_t len = sizeof(sa);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 512) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		snprintf(err, errsz, "cannot listen on %s:%u: %s (is the port in use?)", addr,
			 port, strerror(errno));
		close(fd);
		return NULL;
	}
	struct dd_listener *l = xcalloc(1, sizeof(*l));
	l->ctx = ctx;
	l->srv = srv;
	l->fd = fd;
	atomic_init(&l->stop, false);
	atomic_init(&l->sniffers, 0);
	if (pthread_create(&l->thread, NULL, accept_main, l) != 0) {
		snprintf(err, errsz, "cannot start the accept thread");
		close(fd);
		free(l);
		return NULL;
	}
	*port_r = ntohs(sa.sin_port);
	return l;
}

void dd_listener_stop(struct dd_listener *l)
{
	if (!l)
		return;
	atomic_store(&l->stop, true);
	pthread_join(l->thread, NULL);
	close(l->fd);
	/* Sniffers still waiting for first bytes hand on to the daemons: wait for them. */
	for (int i = 0; i < 200 && atomic_load(&l->sniffers) > 0; i++)
		df_sleep_ms(10);
	if (atomic_load(&l->sniffers) > 0)
		return; /* leak rather than free under a running thread */
	free(l);
}
