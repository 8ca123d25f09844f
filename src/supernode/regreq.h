/* regreq: the body of POST /peer/registry, as JSON or as a form (keys matched without
 * regard to case), decoded and checked. Pure functions; no shared state. */
#ifndef SN_REGREQ_H
#define SN_REGREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sn_regreq {
	char *raw_url;
	char *task_url; /* as sent; sn_regreq_validate fills it from raw_url when empty */
	char *cid;
	char *ip;
	char *host_name;
	char *path;
	char *version;
	char *md5;
	char *identifier;
	char *call_system;
	char *pattern; /* "p2p" (default), "cdn" or "source" */
	char *super_node_ip;
	int64_t port;
	bool dfdaemon;
	bool insecure;
	char **headers;	/* NULL-terminated "K: V" lines */
	size_t nheaders;
	char *root_cas;	/* the decoded PEM certificates, concatenated; NULL when none */
	size_t root_cas_len;
};

/* Parse body by content_type ("application/x-www-form-urlencoded" is a form; JSON
 * otherwise, or when the body starts with '{'). All string fields end up non-NULL.
 * Returns 0 or -EINVAL with the reason in err. */
int sn_regreq_parse(const char *content_type, const char *body, size_t len,
		    struct sn_regreq *r_r, char *err, size_t errsz);
/* Check what the supernode needs: a valid URL, a cid, a port of 0 or 15000-65000, a known
 * pattern, sane headers. Returns 0 or -EINVAL with the reason in err. */
int sn_regreq_validate(struct sn_regreq *r, char *err, size_t errsz);
void sn_regreq_cleanup(struct sn_regreq *r);

/* The value of a "Range" header among r's headers, or NULL (borrowed). */
const char *sn_regreq_range(const struct sn_regreq *r);
/* May the client serve pieces to others (port set and pattern p2p)? */
bool sn_regreq_can_serve(const struct sn_regreq *r);

/* Standard base64 (padding optional, whitespace skipped) into a heap buffer (the
 * caller's). Returns 0 or -EINVAL. */
int sn_base64_decode(const char *in, size_t inlen, char **out_r, size_t *outlen_r);

#endif
