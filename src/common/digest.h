/* Streaming md5 and sha256 over GnuTLS, as lowercase hex. Each struct df_digest belongs to
 * one thread at a time; the functions share no state. */
#ifndef DF_DIGEST_H
#define DF_DIGEST_H

#include <stddef.h>

enum df_digest_algo { DF_DIGEST_MD5, DF_DIGEST_SHA256 };

#define DF_MD5_HEX_LEN 32
#define DF_SHA256_HEX_LEN 64

struct df_digest {
	void *handle; /* gnutls_hash_hd_t */
	enum df_digest_algo algo;
};

/* Aborts on failure: GnuTLS fails here only when out of memory. */
void df_digest_init(struct df_digest *d, enum df_digest_algo algo);
void df_digest_update(struct df_digest *d, const void *data, size_t len);
/* Writes the hex digest and NUL (33 bytes for md5, 65 for sha256); frees the handle. */
void df_digest_final_hex(struct df_digest *d, char *hex_r);
/* Hex of the digest so far, without ending the stream. */
void df_digest_peek_hex(struct df_digest *d, char *hex_r);
/* Abandon a stream without a result. */
void df_digest_abort(struct df_digest *d);

void df_md5_hex(const void *data, size_t len, char hex_r[DF_MD5_HEX_LEN + 1]);
void df_sha256_hex(const void *data, size_t len, char hex_r[DF_SHA256_HEX_LEN + 1]);

/* Digest of a whole file. Returns 0 or -errno. */
int df_file_digest_hex(const char *path, enum df_digest_algo algo, char *hex_r);

/* Bytes -> lowercase hex (2 * len + 1 bytes written). */
void df_hex_encode(const unsigned char *bytes, size_t len, char *hex_r);

#endif
