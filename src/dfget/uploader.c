/* `dfget server`: the per-host uploader (see uploader.h).
 *
 * Threads: libmicrohttpd's pool runs the handlers; the calling thread runs the idle check,
 * the expiry GC and the shutdown. Shared state: struct dg_upstate (own lock) and
 * last_activity_us (atomic). Handlers do their file I/O without any lock held. */
#include "config.h"
#include "uploader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "httpc.h"
#include "httpd.h"
#include "json.h"
#include "log.h"
#include "piece.h"
#include "protocol.h"
#include "snapi.h"
#include "store.h"
#include "timeutil.h"
#include "uplink.h"
#include "upstate.h"
#include "xalloc.h"

#define PATH_FILE "/peer/file/"
#define PATH_CHECK "/check/"
#define PATH_RATE "/rate/"

struct upsrv {
	struct dg_home home;	 /* immutable */
	int data_dirfd;		 /* immutable */
	int pieces_dirfd;	 /* immutable */
	char *data_real;	 /* immutable: realpath of the data dir */
	struct dg_upstate *st;	 /* thread-safe */
	atomic_llong last_activity_us;
	int64_t alive_us, expire_us; /* immutable */
	uint16_t port;		 /* immutable once listening */
};

/* ---------------------------------------------------------------- piece responses */

struct piece_resp {
	struct upsrv *srv;
	int fd;
	int64_t content_off;
	uint32_t clen;
	unsigned char head[4];
	char *name;
	uint64_t sent; /* furthest position produced */
};

static ssize_t piece_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct piece_resp *r = cls;
	uint64_t total = (uint64_t)r->clen + DF_PIECE_META_LEN;
	if (pos >= total)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = 0;
	while (n < max && pos < total) {
		if (pos < DF_PIECE_HEAD_LEN) {
			buf[n++] = (char)r->head[pos++];
		} else if (pos < DF_PIECE_HEAD_LEN + (uint64_t)r->clen) {
			uint64_t left = DF_PIECE_HEAD_LEN + (uint64_t)r->clen - pos;
			size_t k = max - n < left ? max - n : (size_t)left;
			int64_t off = r->content_off + (int64_t)pos - DF_PIECE_HEAD_LEN;
			if (df_pread_all(r->fd, buf + n, k, (off_t)off) < 0) {
				log_warn("upload of %s: the file changed under us", r->name);
				return MHD_CONTENT_READER_END_WITH_ERROR;
			}
			n += k;
			pos += k;
		} else {
			buf[n++] = (char)DF_PIECE_TRAILER;
			pos++;
		}
	}
	if (pos > r->sent)
		r->sent = pos;
	df_sleep_us(df_bucket_take(dg_upstate_bucket(r->srv->st), (int64_t)n));
	return (ssize_t)n;
}

static void piece_free(void *cls)
{
	struct piece_resp *r = cls;
	if (r->sent == (uint64_t)r->clen + DF_PIECE_META_LEN)
		dg_upstate_served(r->srv->st, r->name, (int64_t)r->sent);
	close(r->fd);
	free(r->name);
	free(r);
}

static bool parse_i64(const char *s, int64_t *v_r)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	while (*end == ' ')
		end++;
	if (*end || errno || v < 0)
		return false;
	*v_r = v;
	return true;
}

static enum MHD_Result reply_text(struct MHD_Connection *con, unsigned status, const char *t)
{
	return df_httpd_reply_text(con, status, t);
}

/* Is piece num of name complete here? */
static int piece_ready(struct upsrv *srv, const char *name, bool finished, int64_t num)
{
	if (finished)
		return 0;
	int fd = openat(srv->pieces_dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	bool has = false;
	int rc = dg_piecemap_has(fd, num, &has);
	close(fd);
	return rc < 0 ? rc : has ? 0 : -ENOENT;
}

unsigned dg_upload_piece_params(const char *range, const char *num_s, const char *size_s,
				int64_t *num_r, int64_t *size_r, int64_t *want_r,
				const char **why)
{
	int64_t num, size, a, b;
	if (!parse_i64(num_s, &num) || !parse_i64(size_s, &size)) {
		*why = "pieceNum and pieceSize headers are required";
		return 400;
	}
	if (size <= DF_PIECE_META_LEN || size > DF_PIECE_SIZE_MAX || num > (1LL << 40) ||
	    num > INT64_MAX / size) {
		*why = "pieceNum or pieceSize out of range";
		return 400;
	}
	if (!range || strncmp(range, "bytes=", 6) != 0 || df_range_parse(range + 6, &a, &b) < 0) {
		*why = "Range must be bytes=a-b";
		return 400;
	}
	if (a != num * size || b - a + 1 < DF_PIECE_META_LEN || b - a + 1 > size) {
		*why = "Range does not match pieceNum and pieceSize";
		return 400;
	}
	*num_r = num;
	*size_r = size;
	*want_r = b - a + 1 - DF_PIECE_META_LEN;
	return 0;
}

/* Validate Range/pieceNum/pieceSize. Returns 0 or 400 with why. */
static unsigned piece_params(struct MHD_Connection *con, int64_t *num_r, int64_t *size_r,
			     int64_t *want_r, const char **why)
{
	return dg_upload_piece_params(df_httpd_header(con, "Range"),
				      df_httpd_header(con, DF_HDR_PIECE_NUM),
				      df_httpd_header(con, DF_HDR_PIECE_SIZE), num_r, size_r,
				      want_r, why);
}

static enum MHD_Result serve_piece(struct upsrv *srv, struct MHD_Connection *con,
				   const char *name)
{
	bool finished = false;
	if (!dg_task_file_name_valid(name) || !dg_upstate_known(srv->st, name, &finished))
		return reply_text(con, 404, "no such task file here\n");
	int64_t num, size, want;
	const char *why = NULL;
	unsigned bad = piece_params(con, &num, &size, &want, &why);
	if (bad)
		return reply_text(con, bad, why);
	if (piece_ready(srv, name, finished, num) < 0)
		return reply_text(con, 404, "this piece is not complete here\n");
	int fd = openat(srv->data_dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return reply_text(con, 404, "task file is gone\n");
	}
	int64_t off = num * (size - DF_PIECE_META_LEN);
	int64_t avail = (int64_t)st.st_size - off;
	if (avail < 0 || (avail == 0 && !(num == 0 && st.st_size == 0))) {
		close(fd);
		return reply_text(con, 416, "range beyond the end of the file\n");
	}
	int64_t clen = size - DF_PIECE_META_LEN;
	if (avail < clen)
		clen = avail;
	if (want < clen)
		clen = want;
	struct piece_resp *r = xcalloc(1, sizeof(*r));
	r->srv = srv;
	r->fd = fd;
	r->content_off = off;
	r->clen = (uint32_t)clen;
	r->name = xstrdup(name);
	df_piece_header_encode(r->clen, (int32_t)size, r->head);
	struct MHD_Response *resp = MHD_create_response_from_callback(
		(uint64_t)clen + DF_PIECE_META_LEN, 64 * 1024, piece_read, r, piece_free);
	if (!resp) {
		piece_free(r);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
	enum MHD_Result ret = MHD_queue_response(con, 206, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---------------------------------------------------------------- local endpoints */

static bool is_loopback(struct MHD_Connection *con)
{
	char ip[64];
	df_httpd_client_ip(con, ip, sizeof(ip));
	return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0 ||
	       strncmp(ip, "::ffff:127.", 11) == 0;
}

static enum MHD_Result handle_check(struct upsrv *srv, struct MHD_Connection *con,
				    const char *name)
{
	if (!dg_task_file_name_valid(name))
		return reply_text(con, 400, "bad task file name\n");
	const char *dir = df_httpd_header(con, "dataDir");
	if (dir && *dir) {
		char *real = realpath(dir, NULL);
		bool same = real && strcmp(real, srv->data_real) == 0;
		free(real);
		if (!same)
			return reply_text(con, 403, "dataDir is not this uploader's data directory\n");
	}
	int64_t total = 0;
	const char *tl = df_httpd_header(con, "totalLimit");
	if (tl && *tl && !parse_i64(tl, &total))
		return reply_text(con, 400, "totalLimit must be a number of bytes per second\n");
	dg_upstate_check(srv->st, name, total);
	char body[300];
	snprintf(body, sizeof(body), "%s@%s", name, PACKAGE_VERSION);
	return reply_text(con, 200, body);
}

static enum MHD_Result handle_rate(struct upsrv *srv, struct MHD_Connection *con,
				   const char *name)
{
	int64_t ask;
	if (!dg_task_file_name_valid(name))
		return reply_text(con, 400, "bad task file name\n");
	if (!parse_i64(df_httpd_header(con, "rateLimit"), &ask))
		return reply_text(con, 400, "rateLimit header must be bytes per second\n");
	char body[32];
	snprintf(body, sizeof(body), "%" PRId64, dg_upstate_rate(srv->st, name, ask));
	return reply_text(con, 200, body);
}

static enum MHD_Result handle_finish(struct upsrv *srv, struct MHD_Connection *con)
{
	const char *name = df_httpd_arg(con, "taskFileName");
	const char *id = df_httpd_arg(con, "taskID");
	const char *cid = df_httpd_arg(con, "cid");
	const char *sn = df_httpd_arg(con, "superNode");
	if (!name || !dg_task_file_name_valid(name) || !id || !*id || !cid || !*cid)
		return reply_text(con, 400, "invalid params\n");
	dg_upstate_finish(srv->st, name, id, cid, sn);
	return reply_text(con, 200, "success");
}

static enum MHD_Result handle_stats(struct upsrv *srv, struct MHD_Connection *con)
{
	struct dg_uptask_info *l = NULL;
	size_t n = dg_upstate_list(srv->st, &l);
	int64_t bytes, pieces;
	dg_upstate_totals(srv->st, &bytes, &pieces);
	cJSON *j = df_json_object();
	df_json_add_int(j, "port", srv->port);
	df_json_add_int(j, "uploadedBytes", bytes);
	df_json_add_int(j, "uploadedPieces", pieces);
	df_json_add_int(j, "totalLimit", dg_upstate_total_limit(srv->st));
	cJSON *arr = df_json_array();
	for (size_t i = 0; i < n; i++) {
		cJSON *t = df_json_object();
		df_json_add_str(t, "taskFileName", l[i].name);
		df_json_add_bool(t, "finished", l[i].finished);
		df_json_add_str(t, "taskId", l[i].task_id);
		df_json_add_int(t, "uploadedBytes", l[i].served_bytes);
		df_json_add_int(t, "uploadedPieces", l[i].served_pieces);
		cJSON_AddItemToArray(arr, t);
	}
	cJSON_AddItemToObject(j, "tasks", arr);
	dg_upstate_list_free(l, n);
	return df_httpd_reply_json(con, 200, j);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *con, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	struct upsrv *srv = cls;
	(void)version;
	struct df_httpd_request *req =
		df_httpd_request_step(con_cls, upload_data, upload_data_size, 4096);
	if (!req)
		return MHD_YES;
	atomic_store(&srv->last_activity_us, df_mono_us());
	if (req->too_large)
		return reply_text(con, 413, "request body too large\n");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_text(con, 405, "only GET\n");
	if (strncmp(url, PATH_FILE, strlen(PATH_FILE)) == 0)
		return serve_piece(srv, con, url + strlen(PATH_FILE));
	if (strcmp(url, "/server/ping") == 0)
		return reply_text(con, 200, "success");
	if (strcmp(url, "/server/stats") == 0)
		return handle_stats(srv, con);
	bool local = is_loopback(con);
	if (strncmp(url, PATH_CHECK, strlen(PATH_CHECK)) == 0)
		return local ? handle_check(srv, con, url + strlen(PATH_CHECK))
			     : reply_text(con, 403, "local clients only\n");
	if (strncmp(url, PATH_RATE, strlen(PATH_RATE)) == 0)
		return local ? handle_rate(srv, con, url + strlen(PATH_RATE))
			     : reply_text(con, 403, "local clients only\n");
	if (strcmp(url, "/client/finish") == 0)
		return local ? handle_finish(srv, con) : reply_text(con, 403, "local clients only\n");
	return reply_text(con, 404, "not found\n");
}

/* ---------------------------------------------------------------- housekeeping */

static void service_down(CURL *h, const struct dg_uptask_info *t)
{
	char err[256];
	if (!t->supernode[0] || !t->task_id[0] || !t->cid[0])
		return;
	if (dg_sn_service_down(h, t->supernode, t->task_id, t->cid, err, sizeof(err)) < 0)
		log_warn("service down for %s at %s: %s", t->name, t->supernode, err);
}

static void drop_files(struct upsrv *srv, const char *name)
{
	if (unlinkat(srv->data_dirfd, name, 0) < 0 && errno != ENOENT)
		log_warn_errno(errno, "cannot delete %s/%s", srv->home.data, name);
	unlinkat(srv->pieces_dirfd, name, 0);
}

static bool file_exists(int dirfd, const char *name, struct stat *st)
{
	return fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Finished files unused for expire_us go (and the supernode hears so); tasks whose file is
 * gone are forgotten; files nobody registered, older than expire_us, are deleted. */
static void gc(struct upsrv *srv, CURL *h)
{
	struct dg_uptask_info *l = NULL;
	size_t n = dg_upstate_list(srv->st, &l);
	struct stat st;
	for (size_t i = 0; i < n; i++) {
		if (!file_exists(srv->data_dirfd, l[i].name, &st)) {
			if (l[i].idle_us > DG_RATE_ACTIVE_US) {
				dg_upstate_remove(srv->st, l[i].name);
				unlinkat(srv->pieces_dirfd, l[i].name, 0);
			}
			continue;
		}
		if (l[i].finished && l[i].idle_us > srv->expire_us) {
			log_info("%s expired (unused for %" PRId64 " s): deleting it", l[i].name,
				 l[i].idle_us / 1000000);
			service_down(h, &l[i]);
			drop_files(srv, l[i].name);
			dg_upstate_remove(srv->st, l[i].name);
		}
	}
	dg_upstate_list_free(l, n);

	int fd = dup(srv->data_dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	int64_t now_s = df_wall_ms() / 1000;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || dg_upstate_known(srv->st, de->d_name, NULL))
			continue;
		if (fstatat(srv->data_dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if ((now_s - (int64_t)st.st_mtime) * 1000000 > srv->expire_us) {
			log_info("deleting %s: no download owns it and it is older than the "
				 "expire time",
				 de->d_name);
			drop_files(srv, de->d_name);
		}
	}
	closedir(d);
}

/* Take the home's lock without waiting. Returns the fd or -1. */
static int try_lock(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Clear host.meta (and uploader.pid) if they still name us. */
static void unpublish(struct upsrv *srv)
{
	uint16_t port = 0;
	if (dg_host_meta_read(srv->home.host_meta, &port) == 0 && port == srv->port)
		dg_host_meta_write(srv->home.host_meta, 0);
	char *pidfile = xasprintf("%s/uploader.pid", srv->home.meta), *text = NULL;
	size_t len = 0;
	if (df_read_file(pidfile, 64, &text, &len) == 0 && atol(text) == (long)getpid())
		unlink(pidfile);
	free(text);
	free(pidfile);
}

/* Idle long enough to leave? Holding the lock, no dfget is between finding us and
 * registering with us, so the decision cannot race with a newcomer. */
static bool idle_exit(struct upsrv *srv)
{
	int64_t idle = df_mono_us() - atomic_load(&srv->last_activity_us);
	if (idle < srv->alive_us)
		return false;
	int fd = try_lock(srv->home.lock);
	if (fd < 0)
		return false;
	idle = df_mono_us() - atomic_load(&srv->last_activity_us);
	bool leave = idle >= srv->alive_us;
	if (leave) {
		unpublish(srv);
		log_info("idle for %" PRId64 " s: shutting down", idle / 1000000);
	}
	close(fd);
	return leave;
}

static void shutdown_tasks(struct upsrv *srv, CURL *h)
{
	struct dg_uptask_info *l = NULL;
	size_t n = dg_upstate_list(srv->st, &l);
	for (size_t i = 0; i < n; i++) {
		if (!l[i].finished)
			continue;
		service_down(h, &l[i]);
		drop_files(srv, l[i].name);
	}
	dg_upstate_list_free(l, n);
}

/* ---------------------------------------------------------------- start */

static struct MHD_Daemon *listen_on(struct upsrv *srv, const struct dg_uploader_opts *o,
				    char *err, size_t errsz)
{
	struct df_httpd_options ho = {
		.port = o->port,
		.threads = o->threads ? o->threads : 8,
		.connection_limit = 4096,
		.per_ip_limit = 512, /* one host cannot hold every connection (slowloris) */
		.timeout_s = 120,
	};
	for (int attempt = 0; attempt < 30; attempt++) {
		if (!o->port) {
			uint32_t r = 0;
			if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
				r = (uint32_t)df_mono_us();
			ho.port = (uint16_t)(DF_UPLOADER_PORT_MIN +
					     r % (DF_UPLOADER_PORT_MAX - DF_UPLOADER_PORT_MIN + 1));
		}
		/* Set before the workers start (/server/stats reads it); ho.port is never 0 here,
		 * so it is the port the daemon binds. */
		srv->port = ho.port;
		struct MHD_Daemon *d = df_httpd_start(&ho, handler, srv, NULL, err, errsz);
		if (d || o->port)
			return d;
	}
	return NULL;
}

/* Until idle long enough or told to quit: the expiry GC every quarter of the expire time
 * (between 250 ms and 30 s). */
static void housekeeping(struct upsrv *srv, CURL *h, volatile sig_atomic_t *quit,
			 volatile sig_atomic_t *reopen_log)
{
	int64_t gc_every = srv->expire_us / 4;
	if (gc_every > 30000000)
		gc_every = 30000000;
	if (gc_every < 250000)
		gc_every = 250000;
	int64_t next_gc = df_mono_us() + gc_every;
	while (!*quit) {
		df_sleep_us(100000);
		if (reopen_log && *reopen_log) {
			*reopen_log = 0;
			df_log_reopen();
			log_info("log reopened");
		}
		if (df_mono_us() >= next_gc) {
			gc(srv, h);
			next_gc = df_mono_us() + gc_every;
		}
		if (idle_exit(srv))
			break;
	}
}

static int check_not_running(struct upsrv *srv, char *err, size_t errsz)
{
	uint16_t port = 0;
	if (dg_host_meta_read(srv->home.host_meta, &port) < 0 || port == 0)
		return 0;
	CURL *h = df_curl_new();
	bool alive = dg_uplink_ping(h, port);
	curl_easy_cleanup(h);
	if (alive) {
		snprintf(err, errsz, "an uploader for %s already runs on port %u", srv->home.root,
			 (unsigned)port);
		return -EEXIST;
	}
	return 0;
}

static int srv_open(struct upsrv *srv, const struct dg_uploader_opts *o, char *err,
		    size_t errsz)
{
	int rc = dg_home_init(&srv->home, o->home, true, err, errsz);
	if (rc < 0)
		return rc;
	srv->data_dirfd = open(srv->home.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	srv->pieces_dirfd = open(srv->home.pieces, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	srv->data_real = realpath(srv->home.data, NULL);
	if (srv->data_dirfd < 0 || srv->pieces_dirfd < 0 || !srv->data_real) {
		snprintf(err, errsz, "cannot open %s: %s", srv->home.data, strerror(errno));
		return -errno;
	}
	srv->alive_us = (o->alive_ms > 0 ? o->alive_ms : 300000) * 1000;
	srv->expire_us = (o->expire_ms > 0 ? o->expire_ms : 180000) * 1000;
	srv->st = dg_upstate_new(NULL, NULL);
	atomic_store(&srv->last_activity_us, df_mono_us());
	return 0;
}

static void srv_close(struct upsrv *srv)
{
	if (srv->data_dirfd >= 0)
		close(srv->data_dirfd);
	if (srv->pieces_dirfd >= 0)
		close(srv->pieces_dirfd);
	free(srv->data_real);
	dg_upstate_free(srv->st);
	dg_home_cleanup(&srv->home);
}

int dg_uploader_run(const struct dg_uploader_opts *o, volatile sig_atomic_t *quit, char *err,
		    size_t errsz)
{
	struct upsrv srv;
	memset(&srv, 0, sizeof(srv));
	srv.data_dirfd = srv.pieces_dirfd = -1;
	struct MHD_Daemon *d = NULL;
	CURL *h = NULL;
	int result = srv_open(&srv, o, err, errsz);
	if (result == 0)
		result = check_not_running(&srv, err, errsz);
	if (result < 0)
		goto out;
	d = listen_on(&srv, o, err, errsz);
	if (!d) {
		result = -EADDRINUSE;
		goto out;
	}
	char *pidfile = xasprintf("%s/uploader.pid", srv.home.meta), pid[32];
	int plen = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	df_write_file_atomic(pidfile, pid, (size_t)plen, 0644);
	free(pidfile);
	result = dg_host_meta_write(srv.home.host_meta, srv.port);
	if (result < 0) {
		snprintf(err, errsz, "cannot write %s: %s", srv.home.host_meta, strerror(-result));
		goto out;
	}
	log_info("uploader for %s listening on port %u (alive %" PRId64 " s, expire %" PRId64
		 " s)",
		 srv.home.root, (unsigned)srv.port, srv.alive_us / 1000000,
		 srv.expire_us / 1000000);
	h = df_curl_new();
	housekeeping(&srv, h, quit, o->reopen_log);
	if (*quit) {
		log_info("signal: shutting down");
		unpublish(&srv);
	}
	MHD_stop_daemon(d);
	d = NULL;
	shutdown_tasks(&srv, h);
	log_info("uploader on port %u stopped", (unsigned)srv.port);
out:
	if (d) {
		MHD_stop_daemon(d);
		unpublish(&srv);
	}
	if (h)
		curl_easy_cleanup(h);
	srv_close(&srv);
	return result;
}
