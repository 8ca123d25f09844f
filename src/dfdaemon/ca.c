/* Per-host certificates for HTTPS hijack, minted with GnuTLS (see ca.h).
 * Locking: ca->lock guards the leaf cache; minting runs outside it. Leaves are never
 * freed before dd_ca_free (GnuTLS sessions borrow them). */
#include "config.h"
#include "ca.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fsutil.h"
#include "log.h"
#include "xalloc.h"

struct leaf {
	char host[256];
	gnutls_x509_crt_t crt;
	gnutls_pcert_st pcert[2]; /* the leaf, then the CA */
};

struct dd_ca {
	gnutls_x509_crt_t crt;		/* immutable after dd_ca_new */
	gnutls_privkey_t key;
	gnutls_x509_privkey_t leaf_xkey;
	gnutls_privkey_t leaf_key;
	pthread_mutex_t lock;
	struct leaf *leaves[DD_CA_MAX_HOSTS]; /* guarded by lock */
	size_t n;			/* guarded by lock */
};

static struct dd_ca *default_ca; /* set once before the daemons start */

static int load_pem(const char *path, gnutls_datum_t *d, char *err, size_t errsz)
{
	char *text = NULL;
	size_t len = 0;
	int rc = df_read_file(path, 1 << 20, &text, &len);
	if (rc < 0) {
		snprintf(err, errsz, "cannot read %s: %s", path, strerror(-rc));
		return rc;
	}
	d->data = (unsigned char *)text;
	d->size = (unsigned)len;
	return 0;
}

static int load_ca(struct dd_ca *ca, const char *cert_path, const char *key_path, char *err,
		   size_t errsz)
{
	gnutls_datum_t c = { NULL, 0 }, k = { NULL, 0 };
	gnutls_x509_privkey_t xkey = NULL;
	int rc = load_pem(cert_path, &c, err, errsz);
	if (rc == 0)
		rc = load_pem(key_path, &k, err, errsz);
	if (rc < 0)
		goto out;
	rc = -EINVAL;
	unsigned is_ca = 0;
	if (gnutls_x509_crt_init(&ca->crt) < 0 ||
	    gnutls_x509_crt_import(ca->crt, &c, GNUTLS_X509_FMT_PEM) < 0) {
		snprintf(err, errsz, "%s is not a PEM certificate", cert_path);
		goto out;
	}
	if (gnutls_x509_crt_get_basic_constraints(ca->crt, NULL, &is_ca, NULL) < 0 || !is_ca) {
		snprintf(err, errsz, "%s is not a CA certificate (basicConstraints CA:TRUE)",
			 cert_path);
		goto out;
	}
	if (gnutls_x509_privkey_init(&xkey) < 0 ||
	    gnutls_x509_privkey_import2(xkey, &k, GNUTLS_X509_FMT_PEM, NULL, 0) < 0 ||
	    gnutls_privkey_init(&ca->key) < 0 ||
	    gnutls_privkey_import_x509(ca->key, xkey, GNUTLS_PRIVKEY_IMPORT_COPY) < 0) {
		snprintf(err, errsz, "%s is not an unencrypted PEM private key", key_path);
		goto out;
	}
	rc = 0;
out:
	if (xkey)
		gnutls_x509_privkey_deinit(xkey);
	free(c.data);
	free(k.data);
	return rc;
}

struct dd_ca *dd_ca_new(const char *cert_path, const char *key_path, char *err, size_t errsz)
{
	struct dd_ca *ca = xcalloc(1, sizeof(*ca));
	pthread_mutex_init(&ca->lock, NULL);
	if (load_ca(ca, cert_path, key_path, err, errsz) < 0)
		goto fail;
	if (gnutls_x509_privkey_init(&ca->leaf_xkey) < 0 ||
	    gnutls_x509_privkey_generate(ca->leaf_xkey, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
	    gnutls_privkey_init(&ca->leaf_key) < 0 ||
	    gnutls_privkey_import_x509(ca->leaf_key, ca->leaf_xkey, 0) < 0) {
		snprintf(err, errsz, "cannot generate a key for the hijack certificates");
		goto fail;
	}
	return ca;
fail:
	dd_ca_free(ca);
	return NULL;
}

static void leaf_free(struct leaf *l)
{
	gnutls_pcert_deinit(&l->pcert[0]);
	gnutls_pcert_deinit(&l->pcert[1]);
	gnutls_x509_crt_deinit(l->crt);
	free(l);
}

void dd_ca_free(struct dd_ca *ca)
{
	if (!ca)
		return;
	if (default_ca == ca)
		default_ca = NULL;
	for (size_t i = 0; i < ca->n; i++)
		leaf_free(ca->leaves[i]);
	if (ca->leaf_key)
		gnutls_privkey_deinit(ca->leaf_key);
	if (ca->leaf_xkey)
		gnutls_x509_privkey_deinit(ca->leaf_xkey);
	if (ca->key)
		gnutls_privkey_deinit(ca->key);
	if (ca->crt)
		gnutls_x509_crt_deinit(ca->crt);
	pthread_mutex_destroy(&ca->lock);
	free(ca);
}

static int set_names(gnutls_x509_crt_t c, const char *host)
{
	unsigned char ip[16];
	int rc = gnutls_x509_crt_set_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, host,
					       (unsigned)strlen(host));
	if (rc < 0)
		return rc;
	if (inet_pton(AF_INET, host, ip) == 1)
		return gnutls_x509_crt_set_subject_alt_name(c, GNUTLS_SAN_IPADDRESS, ip, 4,
							    GNUTLS_FSAN_SET);
	if (inet_pton(AF_INET6, host, ip) == 1)
		return gnutls_x509_crt_set_subject_alt_name(c, GNUTLS_SAN_IPADDRESS, ip, 16,
							    GNUTLS_FSAN_SET);
	return gnutls_x509_crt_set_subject_alt_name(c, GNUTLS_SAN_DNSNAME, host,
						    (unsigned)strlen(host), GNUTLS_FSAN_SET);
}

static int fill_leaf(struct dd_ca *ca, gnutls_x509_crt_t c, const char *host)
{
	unsigned char serial[16], kid[64];
	size_t kidlen = sizeof(kid);
	time_t now = time(NULL);
	gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial));
	serial[0] &= 0x7f;
	int rc = gnutls_x509_crt_set_version(c, 3);
	if (rc >= 0)
		rc = gnutls_x509_crt_set_serial(c, serial, sizeof(serial));
	if (rc >= 0)
		rc = gnutls_x509_crt_set_activation_time(c, now - 3600);
	if (rc >= 0)
		rc = gnutls_x509_crt_set_expiration_time(c, now + 24 * 3600);
	if (rc >= 0)
		rc = set_names(c, host);
	if (rc >= 0)
		rc = gnutls_x509_crt_set_basic_constraints(c, 0, -1);
	if (rc >= 0)
		rc = gnutls_x509_crt_set_key_usage(c, GNUTLS_KEY_DIGITAL_SIGNATURE |
							      GNUTLS_KEY_KEY_ENCIPHERMENT);
	if (rc >= 0)
		rc = gnutls_x509_crt_set_key_purpose_oid(c, GNUTLS_KP_TLS_WWW_SERVER, 0);
	if (rc >= 0)
		rc = gnutls_x509_crt_set_key(c, ca->leaf_xkey);
	if (rc >= 0 && gnutls_x509_crt_get_key_id(c, 0, kid, &kidlen) >= 0)
		rc = gnutls_x509_crt_set_subject_key_id(c, kid, kidlen);
	kidlen = sizeof(kid);
	if (rc >= 0 && gnutls_x509_crt_get_subject_key_id(ca->crt, kid, &kidlen, NULL) >= 0)
		rc = gnutls_x509_crt_set_authority_key_id(c, kid, kidlen);
	if (rc >= 0)
		rc = gnutls_x509_crt_privkey_sign(c, ca->crt, ca->key, GNUTLS_DIG_SHA256, 0);
	return rc;
}

static struct leaf *mint(struct dd_ca *ca, const char *host)
{
	struct leaf *l = xcalloc(1, sizeof(*l));
	snprintf(l->host, sizeof(l->host), "%s", host);
	int rc = gnutls_x509_crt_init(&l->crt);
	if (rc >= 0)
		rc = fill_leaf(ca, l->crt, host);
	if (rc >= 0)
		rc = gnutls_pcert_import_x509(&l->pcert[0], l->crt, 0);
	if (rc >= 0) {
		rc = gnutls_pcert_import_x509(&l->pcert[1], ca->crt, 0);
		if (rc < 0)
			gnutls_pcert_deinit(&l->pcert[0]);
	}
	if (rc < 0) {
		log_error("cannot mint a certificate for %s: %s", host, gnutls_strerror(rc));
		if (l->crt)
			gnutls_x509_crt_deinit(l->crt);
		free(l);
		return NULL;
	}
	log_info("minted a certificate for %s", host);
	return l;
}

static struct leaf *find_locked(struct dd_ca *ca, const char *host)
{
	for (size_t i = 0; i < ca->n; i++)
		if (strcasecmp(ca->leaves[i]->host, host) == 0)
			return ca->leaves[i];
	return NULL;
}

static struct leaf *get_leaf(struct dd_ca *ca, const char *host)
{
	pthread_mutex_lock(&ca->lock);
	struct leaf *l = find_locked(ca, host);
	bool full = ca->n >= DD_CA_MAX_HOSTS;
	pthread_mutex_unlock(&ca->lock);
	if (l)
		return l;
	if (full) {
		log_warn("not hijacking %s: %d hosts have certificates already", host,
			 DD_CA_MAX_HOSTS);
		return NULL;
	}
	struct leaf *fresh = mint(ca, host);
	if (!fresh)
		return NULL;
	pthread_mutex_lock(&ca->lock);
	l = find_locked(ca, host);
	if (!l && ca->n < DD_CA_MAX_HOSTS) {
		ca->leaves[ca->n++] = fresh;
		l = fresh;
		fresh = NULL;
	}
	pthread_mutex_unlock(&ca->lock);
	if (fresh)
		leaf_free(fresh);
	return l;
}

int dd_ca_leaf_pem(struct dd_ca *ca, const char *host, char **pem_r)
{
	struct leaf *l = get_leaf(ca, host);
	if (!l)
		return -EINVAL;
	gnutls_datum_t out = { NULL, 0 };
	if (gnutls_x509_crt_export2(l->crt, GNUTLS_X509_FMT_PEM, &out) < 0)
		return -EIO;
	*pem_r = xstrndup((const char *)out.data, out.size);
	gnutls_free(out.data);
	return 0;
}

void dd_ca_set_default(struct dd_ca *ca)
{
	default_ca = ca;
}

int dd_ca_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
		   const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
		   gnutls_pcert_st **pcert, unsigned int *pcert_length,
		   gnutls_privkey_t *privkey)
{
	(void)req_ca_rdn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	char name[256];
	size_t len = sizeof(name) - 1;
	unsigned type = 0;
	struct dd_ca *ca = default_ca;
	if (!ca)
		return -1;
	if (gnutls_server_name_get(session, name, &len, &type, 0) < 0 ||
	    type != GNUTLS_NAME_DNS) {
		log_warn("hijack: the client sent no server name (SNI): cannot pick a "
			 "certificate");
		return -1;
	}
	name[len] = '\0';
	struct leaf *l = get_leaf(ca, name);
	if (!l)
		return -1;
	*pcert = l->pcert;
	*pcert_length = 2;
	*privkey = ca->leaf_key;
	return 0;
}
