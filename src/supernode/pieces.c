/* pieces: the piece server's handler (see pieces.h). The task lock is held only to read
 * which pieces are complete; the file is opened and sent without it. */
#include "config.h"
#include "pieces.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctx.h"
#include "httpd.h"
#include "log.h"
#include "piece.h"
#include "progress.h"
#include "registry.h"
#include "server.h"
#include "stats.h"
#include "task.h"
#include "taskid.h"
#include "timeutil.h"

bool sn_pieces_parse_path(const char *url, char id_r[65])
{
	static const char prefix[] = "/download/";
	size_t plen = sizeof(prefix) - 1;
	if (strncmp(url, prefix, plen) != 0 || strlen(url) != plen + 3 + 1 + 64)
		return false;
	const char *dir = url + plen, *id = url + plen + 4;
	if (dir[3] != '/' || strncmp(dir, id, 3) != 0)
		return false;
	memcpy(id_r, id, 64);
	id_r[64] = '\0';
	return df_task_id_valid(id_r);
}

static enum MHD_Result reject(struct MHD_Connection *con, unsigned status, const char *msg)
{
	SN_STAT_ADD(piece_rejects, 1);
	return df_httpd_reply_text(con, status, msg);
}

static enum MHD_Result reply_416(struct MHD_Connection *con, int64_t total)
{
	char cr[64];
	SN_STAT_ADD(piece_rejects, 1);
	struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"",
								 MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	snprintf(cr, sizeof(cr), "bytes */%" PRId64, total);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
	enum MHD_Result res = MHD_queue_response(con, MHD_HTTP_RANGE_NOT_SATISFIABLE, r);
	MHD_destroy_response(r);
	return res;
}

/* What the task lets us send for [*start, *end]: 0 (end clamped), or an HTTP status. */
static unsigned check_range(struct sn_task *t, const char *range, int64_t *start, int64_t *end,
			    int64_t *total_r)
{
	unsigned status = 0;
	pthread_mutex_lock(&t->lock);
	int64_t total = sn_task_framed_len_locked(t);
	int32_t ps = t->piece_size;
	t->last_access_ms = df_mono_ms();
	if (ps <= 0) {
		status = MHD_HTTP_NOT_FOUND;
		goto out;
	}
	int rc = df_http_range_parse(range, total >= 0 ? total : INT64_MAX, start, end);
	if (rc == -ERANGE) {
		status = MHD_HTTP_RANGE_NOT_SATISFIABLE;
		goto out;
	}
	if (rc < 0 || (total < 0 && *end >= INT64_MAX - 1)) {
		status = MHD_HTTP_BAD_REQUEST;
		goto out;
	}
	for (int64_t n = *start / ps; n <= *end / ps; n++)
		if (!sn_progress_cdn_has(t->prog, n)) {
			status = MHD_HTTP_NOT_FOUND;
			break;
		}
out:
	*total_r = total;
	pthread_mutex_unlock(&t->lock);
	return status;
}

static enum MHD_Result serve(struct MHD_Connection *con, struct sn_task *t, int64_t start,
			     int64_t end, int64_t total)
{
	int fd = open(t->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		log_warn_errno(-errno, "task %.12s: cannot open %s", t->id, t->path);
		return reject(con, MHD_HTTP_NOT_FOUND, "the cached file is gone\n");
	}
	uint64_t len = (uint64_t)(end - start + 1);
	struct MHD_Response *r = MHD_create_response_from_fd_at_offset64(len, fd, (uint64_t)start);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	char cr[96];
	if (total >= 0)
		snprintf(cr, sizeof(cr), "bytes %" PRId64 "-%" PRId64 "/%" PRId64, start, end, total);
	else
		snprintf(cr, sizeof(cr), "bytes %" PRId64 "-%" PRId64 "/*", start, end);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
	MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	enum MHD_Result res = MHD_queue_response(con, MHD_HTTP_PARTIAL_CONTENT, r);
	MHD_destroy_response(r);
	SN_STAT_ADD(piece_requests, 1);
	SN_STAT_ADD(served_bytes, (int64_t)len);
	return res;
}

enum MHD_Result sn_pieces_handler(void *cls, struct MHD_Connection *con, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct sn_ctx *ctx = cls;
	(void)version;
	(void)upload_data;
	if (!*con_cls) {
		sn_server_request_begin(ctx, con_cls);
		return MHD_YES; /* answer once the whole request is in */
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* a body on a piece request: ignored */
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reject(con, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	char id[65];
	if (!sn_pieces_parse_path(url, id))
		return reject(con, MHD_HTTP_NOT_FOUND, "not found: pieces are at "
						       "/download/<id[0:3]>/<task id>\n");
	const char *range = df_httpd_header(con, "Range");
	if (!range)
		return reject(con, MHD_HTTP_BAD_REQUEST, "a Range header is required\n");
	struct sn_task *t = sn_registry_get(id);
	if (!t)
		return reject(con, MHD_HTTP_NOT_FOUND, "unknown task: register it first\n");
	int64_t start = 0, end = 0, total = -1;
	enum MHD_Result res;
	unsigned status = check_range(t, range, &start, &end, &total);
	if (status == MHD_HTTP_RANGE_NOT_SATISFIABLE)
		res = reply_416(con, total);
	else if (status == MHD_HTTP_BAD_REQUEST)
		res = reject(con, status, "malformed Range: use bytes=a-b\n");
	else if (status)
		res = reject(con, status, "that piece is not cached yet\n");
	else
		res = serve(con, t, start, end, total);
	sn_task_unref(t);
	return res;
}
