/* image: registry manifests, token challenges and their resolution into blob URLs (see
 * image.h). The parsers keep no state; sn_image_resolve uses its own easy handle. */
#include "config.h"
#include "image.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "digest.h"
#include "httpc.h"
#include "json.h"
#include "log.h"
#include "task.h"
#include "xalloc.h"

#define MAX_DIGESTS 1024
#define MAX_MANIFEST (4u << 20)
#define MAX_PLATFORMS 64

/* ---------------------------------------------------------------- URLs and digests */

int sn_image_ref_parse(const char *url, struct sn_image_ref *r_r, char *err, size_t errsz)
{
	memset(r_r, 0, sizeof(*r_r));
	const char *scheme_end = strstr(url, "://");
	const char *v2 = scheme_end ? strstr(scheme_end + 3, "/v2/") : NULL;
	const char *man = v2 ? strstr(v2 + 4, "/manifests/") : NULL;
	if (!scheme_end || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
	    !v2 || v2 == scheme_end + 3 || !man || man == v2 + 4) {
		snprintf(err, errsz, "an image URL has the form "
				     "http(s)://REGISTRY/v2/NAME/manifests/REFERENCE");
		return -EINVAL;
	}
	const char *ref = man + strlen("/manifests/");
	if (!*ref || strpbrk(ref, "/?#") || strpbrk(url, " \t\r\n")) {
		snprintf(err, errsz, "the image URL's reference (tag or digest) is missing or "
				     "malformed");
		return -EINVAL;
	}
	if (memchr(scheme_end + 3, '/', (size_t)(v2 - scheme_end - 3))) {
		snprintf(err, errsz, "the image URL must start with /v2/ right after the registry");
		return -EINVAL;
	}
	r_r->base = xstrndup(url, (size_t)(v2 - url));
	r_r->name = xstrndup(v2 + 4, (size_t)(man - v2 - 4));
	r_r->reference = xstrdup(ref);
	return 0;
}

void sn_image_ref_cleanup(struct sn_image_ref *r)
{
	free(r->base);
	free(r->name);
	free(r->reference);
	memset(r, 0, sizeof(*r));
}

char *sn_image_blob_url(const struct sn_image_ref *r, const char *digest)
{
	return xasprintf("%s/v2/%s/blobs/%s", r->base, r->name, digest);
}

char *sn_image_manifest_url(const struct sn_image_ref *r, const char *reference)
{
	return xasprintf("%s/v2/%s/manifests/%s", r->base, r->name, reference);
}

bool sn_image_digest_valid(const char *d)
{
	size_t hex;
	if (strncmp(d, "sha256:", 7) == 0)
		hex = 64;
	else if (strncmp(d, "sha512:", 7) == 0)
		hex = 128;
	else
		return false;
	d += 7;
	for (size_t i = 0; i < hex; i++)
		if (!isxdigit((unsigned char)d[i]) || isupper((unsigned char)d[i]))
			return false;
	return d[hex] == '\0';
}

/* ---------------------------------------------------------------- manifests */

static int add_digest(struct sn_manifest *m, const cJSON *item, const char *key, char *err,
		      size_t errsz)
{
	const char *d = df_json_str(item, key);
	if (!d || !sn_image_digest_valid(d)) {
		snprintf(err, errsz, "the manifest has an entry without a valid \"%s\"", key);
		return -EINVAL;
	}
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->digests[i], d) == 0)
			return 0; /* schema 1 repeats empty layers */
	if (m->n >= MAX_DIGESTS) {
		snprintf(err, errsz, "the manifest names more than %d entries", MAX_DIGESTS);
		return -EINVAL;
	}
	m->digests = xrealloc(m->digests, (m->n + 1) * sizeof(*m->digests));
	m->digests[m->n++] = xstrdup(d);
	return 0;
}

static int add_all(struct sn_manifest *m, const cJSON *arr, const char *key, char *err,
		   size_t errsz)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
	{
		if (!cJSON_IsObject(it)) {
			snprintf(err, errsz, "the manifest's entries must be objects");
			return -EINVAL;
		}
		int rc = add_digest(m, it, key, err, errsz);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int sn_manifest_parse(const char *body, size_t len, struct sn_manifest *m_r, char *err,
		      size_t errsz)
{
	int rc = -EINVAL;
	memset(m_r, 0, sizeof(*m_r));
	cJSON *j = cJSON_ParseWithLength(body, len);
	const cJSON *arr;
	if (!cJSON_IsObject(j)) {
		snprintf(err, errsz, "the manifest is not a JSON object");
		goto out;
	}
	if (cJSON_IsArray(arr = cJSON_GetObjectItemCaseSensitive(j, "manifests"))) {
		m_r->kind = SN_MANIFEST_LIST;
		rc = add_all(m_r, arr, "digest", err, errsz);
	} else if (cJSON_IsArray(arr = cJSON_GetObjectItemCaseSensitive(j, "layers"))) {
		m_r->kind = SN_MANIFEST_IMAGE;
		const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
		rc = cJSON_IsObject(cfg) ? add_digest(m_r, cfg, "digest", err, errsz) : 0;
		if (rc == 0)
			rc = add_all(m_r, arr, "digest", err, errsz);
	} else if (cJSON_IsArray(arr = cJSON_GetObjectItemCaseSensitive(j, "fsLayers"))) {
		m_r->kind = SN_MANIFEST_IMAGE;
		rc = add_all(m_r, arr, "blobSum", err, errsz);
	} else {
		snprintf(err, errsz, "the manifest has no layers, fsLayers or manifests");
	}
	if (rc == 0 && m_r->n == 0) {
		snprintf(err, errsz, "the manifest names nothing to preheat");
		rc = -EINVAL;
	}
out:
	cJSON_Delete(j);
	if (rc < 0)
		sn_manifest_cleanup(m_r);
	return rc;
}

void sn_manifest_cleanup(struct sn_manifest *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->digests[i]);
	free(m->digests);
	memset(m, 0, sizeof(*m));
}

/* ---------------------------------------------------------------- challenges */

/* Parse one key=value (value quoted or a token) at *p; advance past a following comma. */
static int next_param(const char **p, char **key_r, char **val_r)
{
	const char *s = *p;
	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	const char *k = s;
	while (isalnum((unsigned char)*s) || *s == '_' || *s == '-')
		s++;
	if (s == k || *s != '=')
		return -EINVAL;
	size_t klen = (size_t)(s - k);
	s++;
	char *v;
	if (*s == '"') {
		size_t cap = strlen(s), n = 0;
		v = xmalloc(cap + 1);
		for (s++; *s && *s != '"'; s++) {
			if (*s == '\\' && s[1])
				s++;
			v[n++] = *s;
		}
		if (*s != '"') {
			free(v);
			return -EINVAL;
		}
		v[n] = '\0';
		s++;
	} else {
		const char *b = s;
		while (*s && *s != ',' && *s != ' ' && *s != '\t')
			s++;
		v = xstrndup(b, (size_t)(s - b));
	}
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s && *s != ',') {
		free(v);
		return -EINVAL;
	}
	*key_r = xstrndup(k, klen);
	*val_r = v;
	*p = s;
	return 0;
}

int sn_challenge_parse(const char *header, struct sn_challenge *c_r)
{
	memset(c_r, 0, sizeof(*c_r));
	while (*header == ' ')
		header++;
	if (strncasecmp(header, "Bearer", 6) != 0 || (header[6] != ' ' && header[6] != '\t'))
		return -EINVAL;
	const char *p = header + 7;
	while (*p) {
		char *k, *v;
		if (next_param(&p, &k, &v) < 0) {
			sn_challenge_cleanup(c_r);
			return -EINVAL;
		}
		char **slot = strcasecmp(k, "realm") == 0	? &c_r->realm
			      : strcasecmp(k, "service") == 0 ? &c_r->service
			      : strcasecmp(k, "scope") == 0   ? &c_r->scope
							      : NULL;
		if (slot) {
			free(*slot);
			*slot = v;
		} else {
			free(v);
		}
		free(k);
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
	}
	if (!c_r->realm || (strncmp(c_r->realm, "http://", 7) != 0 &&
			    strncmp(c_r->realm, "https://", 8) != 0)) {
		sn_challenge_cleanup(c_r);
		return -EINVAL;
	}
	return 0;
}

void sn_challenge_cleanup(struct sn_challenge *c)
{
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

char *sn_challenge_token_url(const struct sn_challenge *c, const char *scope_default)
{
	const char *scope = c->scope ? c->scope : scope_default;
	char *svc = c->service ? df_url_escape(c->service) : NULL;
	char *sc = scope ? df_url_escape(scope) : NULL;
	char sep = strchr(c->realm, '?') ? '&' : '?';
	char *url = xasprintf("%s%c%s%s%s%s%s", c->realm, sep, svc ? "service=" : "",
			      svc ? svc : "", svc && sc ? "&" : "", sc ? "scope=" : "", sc ? sc : "");
	free(svc);
	free(sc);
	size_t n = strlen(url);
	if (n && (url[n - 1] == '?' || url[n - 1] == '&'))
		url[n - 1] = '\0';
	return url;
}

int sn_token_parse(const char *body, size_t len, char **token_r)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	const char *t = df_json_str(j, "token");
	if (!t || !*t)
		t = df_json_str(j, "access_token");
	int rc = -EINVAL;
	if (t && *t && !strpbrk(t, " \t\r\n")) {
		*token_r = xstrdup(t);
		rc = 0;
	}
	cJSON_Delete(j);
	return rc;
}

/* ---------------------------------------------------------------- resolution (network) */

#define ACCEPT_MANIFESTS                                                                   \
	"Accept: application/vnd.oci.image.index.v1+json, "                               \
	"application/vnd.docker.distribution.manifest.list.v2+json, "                     \
	"application/vnd.oci.image.manifest.v1+json, "                                    \
	"application/vnd.docker.distribution.manifest.v2+json, "                          \
	"application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.5"

struct reply {
	long status;
	char *body;
	size_t len;
	bool too_big;
	char *www_auth; /* the first WWW-Authenticate header */
};

static void reply_cleanup(struct reply *r)
{
	free(r->body);
	free(r->www_auth);
	memset(r, 0, sizeof(*r));
}

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
	struct reply *r = user;
	size_t len = size * n;
	if (r->len + len > MAX_MANIFEST) {
		r->too_big = true;
		return 0;
	}
	r->body = xrealloc(r->body, r->len + len + 1);
	memcpy(r->body + r->len, data, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static size_t on_head(char *buf, size_t size, size_t n, void *user)
{
	struct reply *r = user;
	size_t len = size * n;
	static const char name[] = "WWW-Authenticate:";
	if (len > sizeof(name) && strncasecmp(buf, name, sizeof(name) - 1) == 0 && !r->www_auth) {
		const char *v = buf + sizeof(name) - 1;
		size_t vlen = len - (sizeof(name) - 1);
		while (vlen && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		r->www_auth = xstrndup(v, vlen);
	}
	return len;
}

static int on_progress(void *user, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	atomic_bool *cancel = user;
	return cancel && atomic_load(cancel) ? 1 : 0;
}

/* GET url with headers (plus extra, may be NULL). Returns 0 when an answer came. */
static int get(const char *url, const char *const *headers, const char *extra,
	       atomic_bool *cancel, struct reply *r, char *err, size_t errsz)
{
	memset(r, 0, sizeof(*r));
	CURL *h = df_curl_new();
	struct curl_slist *hl = df_curl_headers(NULL, headers);
	if (extra)
		hl = curl_slist_append(hl, extra);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_head);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, cancel);
	CURLcode cc = curl_easy_perform(h);
	int rc = 0;
	if (cc == CURLE_OK || (cc == CURLE_WRITE_ERROR && r->too_big)) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		if (r->too_big) {
			snprintf(err, errsz, "%s: the answer is larger than %u bytes", url,
				 MAX_MANIFEST);
			rc = -EFBIG;
		}
	} else if (cc == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(err, errsz, "cancelled");
		rc = -ECANCELED;
	} else {
		snprintf(err, errsz, "%s: %s", url, curl_easy_strerror(cc));
		rc = df_curl_errno(cc);
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	if (rc < 0)
		reply_cleanup(r);
	return rc;
}

/* headers without Authorization, plus "Authorization: Bearer token" (the caller's). */
static char **with_bearer(const char *const *headers, const char *token)
{
	size_t n = 0, k = 0;
	while (headers && headers[n])
		n++;
	char **out = xcalloc(n + 2, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		if (strncasecmp(headers[i], "Authorization:", 14) != 0)
			out[k++] = xstrdup(headers[i]);
	out[k] = xasprintf("Authorization: Bearer %s", token);
	return out;
}

static const char *basic_auth(const char *const *headers)
{
	for (size_t i = 0; headers && headers[i]; i++)
		if (strncasecmp(headers[i], "Authorization:", 14) == 0) {
			const char *v = headers[i] + 14;
			while (*v == ' ')
				v++;
			return strncasecmp(v, "Basic ", 6) == 0 ? headers[i] : NULL;
		}
	return NULL;
}

/* Answer a Bearer challenge: a token from its realm. Returns 0 with *token_r. */
static int fetch_token(const struct reply *r, const struct sn_image_ref *ref,
		       const char *const *headers, atomic_bool *cancel, char **token_r,
		       char *err, size_t errsz)
{
	struct sn_challenge c;
	if (!r->www_auth || sn_challenge_parse(r->www_auth, &c) < 0) {
		snprintf(err, errsz, "the registry answered HTTP %ld without a Bearer challenge "
				     "(check the preheat's credentials)", r->status);
		return -EACCES;
	}
	char *scope = xasprintf("repository:%s:pull", ref->name);
	char *url = sn_challenge_token_url(&c, scope);
	const char *basic = basic_auth(headers);
	const char *const hdrs[] = { basic, NULL };
	struct reply tr;
	int rc = get(url, basic ? hdrs : NULL, NULL, cancel, &tr, err, errsz);
	if (rc == 0 && tr.status != 200) {
		snprintf(err, errsz, "the token server %s answered HTTP %ld%s", c.realm, tr.status,
			 tr.status == 401 ? " (give the preheat Basic credentials in its "
					    "Authorization header)" : "");
		rc = -EACCES;
	} else if (rc == 0 && sn_token_parse(tr.body ? tr.body : "", tr.len, token_r) < 0) {
		snprintf(err, errsz, "the token server %s sent no token", c.realm);
		rc = -EPROTO;
	}
	reply_cleanup(&tr);
	free(url);
	free(scope);
	sn_challenge_cleanup(&c);
	return rc;
}

struct resolver {
	const struct sn_image_ref *ref;
	const char *const *orig;
	char **auth; /* headers with a Bearer token, once one was needed */
	atomic_bool *cancel;
	struct sn_image_blobs *out;
};

/* GET a manifest, answering one challenge; check want_digest when given. */
static int get_manifest(struct resolver *rv, const char *url, const char *want_digest,
			struct sn_manifest *m, char *err, size_t errsz)
{
	struct reply r;
	const char *const *hdrs = rv->auth ? (const char *const *)rv->auth : rv->orig;
	int rc = get(url, hdrs, ACCEPT_MANIFESTS, rv->cancel, &r, err, errsz);
	if (rc == 0 && r.status == 401 && !rv->auth) {
		char *token = NULL;
		rc = fetch_token(&r, rv->ref, rv->orig, rv->cancel, &token, err, errsz);
		reply_cleanup(&r);
		if (rc < 0)
			return rc;
		rv->auth = with_bearer(rv->orig, token);
		free(token);
		rc = get(url, (const char *const *)rv->auth, ACCEPT_MANIFESTS, rv->cancel, &r, err,
			 errsz);
	}
	if (rc == 0 && r.status != 200) {
		snprintf(err, errsz, "%s: the registry answered HTTP %ld%s", url, r.status,
			 r.status == 401 || r.status == 403 ? " (credentials refused)"
			 : r.status == 404		    ? " (no such image or tag)"
							    : "");
		rc = r.status == 404 ? -ENOENT : -EACCES;
	}
	if (rc == 0 && want_digest && strncmp(want_digest, "sha256:", 7) == 0) {
		char hex[65];
		df_sha256_hex(r.body ? r.body : "", r.len, hex);
		if (strcmp(hex, want_digest + 7) != 0) {
			snprintf(err, errsz, "%s: the manifest does not match its digest", url);
			rc = -EBADMSG;
		}
	}
	if (rc == 0) {
		char perr[256];
		rc = sn_manifest_parse(r.body ? r.body : "", r.len, m, perr, sizeof(perr));
		if (rc < 0)
			snprintf(err, errsz, "%s: %s", url, perr);
	}
	reply_cleanup(&r);
	return rc;
}

static void add_blob(struct sn_image_blobs *b, const struct sn_image_ref *ref, const char *d)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->digests[i], d) == 0)
			return; /* shared by several platforms */
	b->urls = xrealloc(b->urls, (b->n + 1) * sizeof(*b->urls));
	b->digests = xrealloc(b->digests, (b->n + 1) * sizeof(*b->digests));
	b->urls[b->n] = sn_image_blob_url(ref, d);
	b->digests[b->n++] = xstrdup(d);
}

/* The platforms' manifests of a list. */
static int resolve_list(struct resolver *rv, const struct sn_manifest *list, char *err,
			size_t errsz)
{
	if (list->n > MAX_PLATFORMS) {
		snprintf(err, errsz, "the manifest list names %zu manifests (at most %d)", list->n,
			 MAX_PLATFORMS);
		return -E2BIG;
	}
	for (size_t i = 0; i < list->n; i++) {
		struct sn_manifest m = { 0 };
		char *url = sn_image_manifest_url(rv->ref, list->digests[i]);
		int rc = get_manifest(rv, url, list->digests[i], &m, err, errsz);
		free(url);
		if (rc == 0 && m.kind != SN_MANIFEST_IMAGE) {
			snprintf(err, errsz, "a manifest list names another list (%s)",
				 list->digests[i]);
			rc = -EINVAL;
		}
		for (size_t k = 0; rc == 0 && k < m.n; k++)
			add_blob(rv->out, rv->ref, m.digests[k]);
		sn_manifest_cleanup(&m);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int sn_image_resolve(const char *url, const char *const *headers, atomic_bool *cancel,
		     struct sn_image_blobs *out_r, char *err, size_t errsz)
{
	struct sn_image_ref ref;
	memset(out_r, 0, sizeof(*out_r));
	int rc = sn_image_ref_parse(url, &ref, err, errsz);
	if (rc < 0)
		return rc;
	struct resolver rv = { .ref = &ref, .orig = headers, .cancel = cancel, .out = out_r };
	struct sn_manifest m = { 0 };
	const char *want = sn_image_digest_valid(ref.reference) ? ref.reference : NULL;
	rc = get_manifest(&rv, url, want, &m, err, errsz);
	if (rc == 0 && m.kind == SN_MANIFEST_LIST)
		rc = resolve_list(&rv, &m, err, errsz);
	else
		for (size_t k = 0; rc == 0 && k < m.n; k++)
			add_blob(out_r, &ref, m.digests[k]);
	sn_manifest_cleanup(&m);
	out_r->headers = rv.auth ? rv.auth : sn_strv_dup(headers);
	sn_image_ref_cleanup(&ref);
	if (rc < 0)
		sn_image_blobs_cleanup(out_r);
	return rc;
}

void sn_image_blobs_cleanup(struct sn_image_blobs *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->urls[i]);
		free(b->digests[i]);
	}
	free(b->urls);
	free(b->digests);
	for (size_t i = 0; b->headers && b->headers[i]; i++)
		free(b->headers[i]);
	free(b->headers);
	memset(b, 0, sizeof(*b));
}
