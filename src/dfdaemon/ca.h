/* The CA for HTTPS hijack: loads a CA certificate and key (PEM), mints a leaf certificate
 * per host name on first use (signed by the CA, valid for a day, the host as subject
 * alternative name; one P-256 key shared by all leaves) and caches it in memory for the
 * process's life (at most DD_CA_MAX_HOSTS hosts). Serves them to GnuTLS through a
 * certificate-retrieve callback that picks the leaf by the client's SNI.
 *
 * Thread-safe: the cache has its own lock, not held while minting (two threads may mint
 * the same host at once; one result is kept). */
#ifndef DD_CA_H
#define DD_CA_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stddef.h>

#define DD_CA_MAX_HOSTS 1024

struct dd_ca;

/* Load cert_path and key_path. Returns NULL with err when they cannot be read, do not
 * parse, or the certificate is not a CA. */
struct dd_ca *dd_ca_new(const char *cert_path, const char *key_path, char *err, size_t errsz);
void dd_ca_free(struct dd_ca *ca);

/* Mint (or find) the certificate for host: PEM text of the leaf (heap, the caller's), for
 * tests and debugging. Returns 0 or -errno. */
int dd_ca_leaf_pem(struct dd_ca *ca, const char *host, char **pem_r);

/* Make ca the one dd_ca_retrieve serves (GnuTLS's callback has no user argument). */
void dd_ca_set_default(struct dd_ca *ca);

/* gnutls_certificate_retrieve_function2 for MHD_OPTION_HTTPS_CERT_CALLBACK. */
int dd_ca_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
		   const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
		   gnutls_pcert_st **pcert, unsigned int *pcert_length,
		   gnutls_privkey_t *privkey);

#endif
