#include "config.h"
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"

static gnutls_digest_algorithm_t gnutls_algo(enum df_digest_algo algo)
{
	return algo == DF_DIGEST_MD5 ? GNUTLS_DIG_MD5 : GNUTLS_DIG_SHA256;
}

void df_hex_encode(const unsigned char *bytes, size_t len, char *hex_r)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		hex_r[2 * i] = digits[bytes[i] >> 4];
		hex_r[2 * i + 1] = digits[bytes[i] & 15];
	}
	hex_r[2 * len] = '\0';
}

void df_digest_init(struct df_digest *d, enum df_digest_algo algo)
{
	gnutls_hash_hd_t h;
	int rc = gnutls_hash_init(&h, gnutls_algo(algo));
	if (rc < 0) {
		log_error("gnutls_hash_init: %s", gnutls_strerror(rc));
		abort();
	}
	d->handle = h;
	d->algo = algo;
}

void df_digest_update(struct df_digest *d, const void *data, size_t len)
{
	if (len > 0)
		gnutls_hash((gnutls_hash_hd_t)d->handle, data, len);
}

void df_digest_final_hex(struct df_digest *d, char *hex_r)
{
	unsigned char out[32];
	gnutls_hash_deinit((gnutls_hash_hd_t)d->handle, out);
	d->handle = NULL;
	df_hex_encode(out, gnutls_hash_get_len(gnutls_algo(d->algo)), hex_r);
}

void df_digest_peek_hex(struct df_digest *d, char *hex_r)
{
	unsigned char out[32];
	gnutls_hash_hd_t copy = gnutls_hash_copy((gnutls_hash_hd_t)d->handle);
	if (!copy) {
		log_error("gnutls_hash_copy failed");
		abort();
	}
	gnutls_hash_deinit(copy, out);
	df_hex_encode(out, gnutls_hash_get_len(gnutls_algo(d->algo)), hex_r);
}

void df_digest_abort(struct df_digest *d)
{
	if (d->handle)
		gnutls_hash_deinit((gnutls_hash_hd_t)d->handle, NULL);
	d->handle = NULL;
}

void df_md5_hex(const void *data, size_t len, char hex_r[DF_MD5_HEX_LEN + 1])
{
	unsigned char out[16];
	gnutls_hash_fast(GNUTLS_DIG_MD5, data, len, out);
	df_hex_encode(out, sizeof(out), hex_r);
}

void df_sha256_hex(const void *data, size_t len, char hex_r[DF_SHA256_HEX_LEN + 1])
{
	unsigned char out[32];
	gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out);
	df_hex_encode(out, sizeof(out), hex_r);
}

int df_file_digest_hex(const char *path, enum df_digest_algo algo, char *hex_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct df_digest d;
	df_digest_init(&d, algo);
	static const size_t bufsz = 256 * 1024;
	char *buf = malloc(bufsz);
	int rc = buf ? 0 : -ENOMEM;
	while (rc == 0) {
		ssize_t n = read(fd, buf, bufsz);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = -errno;
		if (n <= 0)
			break;
		df_digest_update(&d, buf, (size_t)n);
	}
	free(buf);
	close(fd);
	if (rc < 0) {
		df_digest_abort(&d);
		return rc;
	}
	df_digest_final_hex(&d, hex_r);
	return 0;
}
