/* meta: JSON round trip of the cache meta file (see meta.h). No shared state. */
#include "config.h"
#include "meta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "json.h"
#include "piece.h"
#include "taskid.h"
#include "xalloc.h"

void sn_meta_cleanup(struct sn_meta *m)
{
	free(m->task_id);
	free(m->url);
	free(m->task_url);
	free(m->piece_md5);
	free(m->etag);
	free(m->last_modified);
	memset(m, 0, sizeof(*m));
}

char *sn_meta_to_json(const struct sn_meta *m)
{
	cJSON *j = df_json_object();
	df_json_add_int(j, "version", 1);
	df_json_add_str(j, "taskId", m->task_id ? m->task_id : "");
	df_json_add_str(j, "url", m->url ? m->url : "");
	df_json_add_str(j, "taskUrl", m->task_url ? m->task_url : "");
	df_json_add_int(j, "sourceLength", m->source_length);
	df_json_add_int(j, "pieceSize", m->piece_size);
	cJSON *arr = df_json_array();
	for (int64_t i = 0; i < m->npieces; i++) {
		cJSON *s = cJSON_CreateString(m->piece_md5[i]);
		if (!s)
			abort();
		cJSON_AddItemToArray(arr, s);
	}
	cJSON_AddItemToObject(j, "pieceMd5", arr);
	df_json_add_str(j, "md5", m->md5);
	df_json_add_str(j, "sha256", m->sha256);
	if (m->etag)
		df_json_add_str(j, "etag", m->etag);
	if (m->last_modified)
		df_json_add_str(j, "lastModified", m->last_modified);
	df_json_add_bool(j, "finished", m->finished);
	df_json_add_int(j, "lastAccess", m->last_access_ms);
	char *text = df_json_print(j);
	cJSON_Delete(j);
	return text;
}

static bool hex_ok(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static char *dup_opt(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

static int parse_pieces(const cJSON *j, struct sn_meta *m, char *err, size_t errsz)
{
	const cJSON *arr = cJSON_GetObjectItem(j, "pieceMd5");
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errsz, "pieceMd5 is not an array");
		return -EINVAL;
	}
	int64_t n = cJSON_GetArraySize(arr);
	m->piece_md5 = xcalloc((size_t)(n ? n : 1), sizeof(*m->piece_md5));
	int64_t i = 0;
	for (const cJSON *e = arr->child; e; e = e->next, i++) {
		if (!cJSON_IsString(e) || !hex_ok(e->valuestring, 32)) {
			snprintf(err, errsz, "pieceMd5[%lld] is not an md5", (long long)i);
			return -EINVAL;
		}
		memcpy(m->piece_md5[i], e->valuestring, 33);
	}
	m->npieces = n;
	return 0;
}

int sn_meta_from_json(const char *text, struct sn_meta *m_r, char *err, size_t errsz)
{
	struct sn_meta m = { 0 };
	int rc = -EINVAL;
	int64_t v, ps = 0;
	cJSON *j = cJSON_Parse(text);
	if (!cJSON_IsObject(j)) {
		snprintf(err, errsz, "not a JSON object");
		goto out;
	}
	const char *id = df_json_str(j, "taskId"), *md5 = df_json_str(j, "md5"),
		   *sha = df_json_str(j, "sha256");
	if (!id || !df_task_id_valid(id)) {
		snprintf(err, errsz, "taskId missing or malformed");
		goto out;
	}
	if (!df_json_int(j, "pieceSize", &ps) || ps < DF_MIB || ps > DF_PIECE_SIZE_MAX ||
	    ps % DF_MIB != 0) {
		snprintf(err, errsz, "pieceSize missing or not a whole number of MiB up to 15");
		goto out;
	}
	if (!df_json_int(j, "sourceLength", &v) || v < -1) {
		snprintf(err, errsz, "sourceLength missing or negative");
		goto out;
	}
	m.source_length = v;
	m.piece_size = (int32_t)ps;
	m.task_id = xstrdup(id);
	m.url = xstrdup(df_json_str(j, "url") ? df_json_str(j, "url") : "");
	m.task_url = xstrdup(df_json_str(j, "taskUrl") ? df_json_str(j, "taskUrl") : "");
	m.etag = dup_opt(df_json_str(j, "etag"));
	m.last_modified = dup_opt(df_json_str(j, "lastModified"));
	df_json_bool(j, "finished", &m.finished);
	if (df_json_int(j, "lastAccess", &v))
		m.last_access_ms = v;
	if (parse_pieces(j, &m, err, errsz) < 0)
		goto out;
	if (m.source_length >= 0 && m.npieces > df_piece_count(m.source_length, m.piece_size)) {
		snprintf(err, errsz, "more piece md5s than the source has pieces");
		goto out;
	}
	if (m.finished) {
		if (m.source_length < 0 ||
		    m.npieces != df_piece_count(m.source_length, m.piece_size) || !md5 ||
		    !hex_ok(md5, 32) || !sha || !hex_ok(sha, 64)) {
			snprintf(err, errsz, "finished, but length, piece md5s or digests missing");
			goto out;
		}
		memcpy(m.md5, md5, 33);
		memcpy(m.sha256, sha, 65);
	}
	rc = 0;
	*m_r = m;
	memset(&m, 0, sizeof(m));
out:
	cJSON_Delete(j);
	sn_meta_cleanup(&m);
	return rc;
}

int sn_meta_write(const char *path, const struct sn_meta *m)
{
	char *text = sn_meta_to_json(m);
	int rc = df_write_file_atomic(path, text, strlen(text), 0644);
	free(text);
	return rc;
}

int sn_meta_read(const char *path, struct sn_meta *m_r, char *err, size_t errsz)
{
	char *text = NULL;
	size_t len = 0;
	int rc = df_read_file(path, 64u << 20, &text, &len);
	if (rc == -ENOENT) {
		snprintf(err, errsz, "%s: no such file", path);
		return rc;
	}
	if (rc < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(-rc));
		return -EINVAL;
	}
	char why[256] = "";
	rc = sn_meta_from_json(text, m_r, why, sizeof(why));
	if (rc < 0)
		snprintf(err, errsz, "%s: %s", path, why);
	free(text);
	return rc;
}
