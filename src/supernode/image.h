/* image: what an image preheat needs from a container registry (the Docker Registry HTTP
 * API v2 / OCI distribution API): the parts of a manifest URL
 * ("<scheme>://<host>/v2/<name>/manifests/<reference>"), the blobs a manifest names (its
 * config and layers; schema 1's fsLayers), the manifests a manifest list or OCI index
 * names, and the Bearer token challenge of a registry with token auth.
 *
 * The parsers are pure (no shared state, no I/O). sn_image_resolve does the network I/O
 * (libcurl) on the calling thread: the manifest, a token when the registry asks for one
 * (once per preheat), and every platform's manifest of a list. Thread-safe (curl_global_init
 * must have run).
 */
#ifndef SN_IMAGE_H
#define SN_IMAGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct sn_image_ref {
	char *base;	 /* "scheme://host[:port]" */
	char *name;	 /* repository name, e.g. "library/alpine" */
	char *reference; /* tag or digest */
};

/* Split a manifest URL. Returns 0, or -EINVAL with the reason in err. */
int sn_image_ref_parse(const char *url, struct sn_image_ref *r_r, char *err, size_t errsz);
void sn_image_ref_cleanup(struct sn_image_ref *r);
/* "<base>/v2/<name>/blobs/<digest>" and ".../manifests/<reference>" (the caller's). */
char *sn_image_blob_url(const struct sn_image_ref *r, const char *digest);
char *sn_image_manifest_url(const struct sn_image_ref *r, const char *reference);

/* "sha256:<64 hex>" or "sha512:<128 hex>" (lowercase hex). */
bool sn_image_digest_valid(const char *d);

enum sn_manifest_kind {
	SN_MANIFEST_IMAGE, /* digests: the config (when any), then the layers */
	SN_MANIFEST_LIST,  /* digests: the manifests of each platform */
};

struct sn_manifest {
	enum sn_manifest_kind kind;
	char **digests;
	size_t n;
};

/* Parse a manifest (Docker schema 1 or 2, OCI manifest, manifest list, OCI index). Every
 * digest must be valid; at most 1024. Returns 0, or -EINVAL with the reason in err. */
int sn_manifest_parse(const char *body, size_t len, struct sn_manifest *m_r, char *err,
		      size_t errsz);
void sn_manifest_cleanup(struct sn_manifest *m);

/* A WWW-Authenticate challenge: Bearer realm="...",service="...",scope="...". */
struct sn_challenge {
	char *realm;
	char *service; /* NULL when absent */
	char *scope;   /* NULL when absent */
};

/* Parse a Bearer challenge. Returns 0, or -EINVAL (not Bearer, no realm, malformed). */
int sn_challenge_parse(const char *header, struct sn_challenge *c_r);
void sn_challenge_cleanup(struct sn_challenge *c);
/* The token request URL: realm?service=..&scope=.. (escaped; the caller's). scope_default
 * is used when the challenge names none. */
char *sn_challenge_token_url(const struct sn_challenge *c, const char *scope_default);
/* The token of a token server's JSON answer ("token" or "access_token"; the caller's).
 * Returns 0 or -EINVAL. */
int sn_token_parse(const char *body, size_t len, char **token_r);

/* The blobs to preheat for an image. */
struct sn_image_blobs {
	char **urls;	/* blob URLs, each once */
	char **digests; /* ... and their digests */
	size_t n;
	char **headers; /* "K: V" to fetch them with (NULL-terminated): the request's, with a
			 * Bearer token in place of its Authorization when one was needed */
};

/* Read the manifest at url (with headers, "K: V", NULL-terminated), following one Bearer
 * challenge (the request's Basic credentials, if any, go to the token server) and the
 * manifests of a list, and list every blob. cancel (may be NULL) ends it early.
 * Returns 0, or -errno with the reason in err. */
int sn_image_resolve(const char *url, const char *const *headers, atomic_bool *cancel,
		     struct sn_image_blobs *out_r, char *err, size_t errsz);
void sn_image_blobs_cleanup(struct sn_image_blobs *b);

#endif
