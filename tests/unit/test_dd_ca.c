/* dfdaemon's hijack CA: certificates minted per host verify against the CA, name the
 * host, are cached; a non-CA certificate or a missing file is refused with a reason. */
#include "config.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dfdaemon/ca.h"
#include "fsutil.h"
#include "unit.h"

static char dir[] = "/tmp/test_dd_ca.XXXXXX";
static char cert_path[128], key_path[128], leaf_cert_path[128];
static gnutls_x509_crt_t ca_crt;

static void write_pem_crt(gnutls_x509_crt_t c, const char *path)
{
	gnutls_datum_t d;
	CU_ASSERT_FATAL(gnutls_x509_crt_export2(c, GNUTLS_X509_FMT_PEM, &d) >= 0);
	CU_ASSERT_FATAL(df_write_file_atomic(path, d.data, d.size, 0600) == 0);
	gnutls_free(d.data);
}

/* A self-signed certificate, CA or not, with key k. */
static gnutls_x509_crt_t make_cert(gnutls_x509_privkey_t k, bool ca)
{
	gnutls_x509_crt_t c;
	unsigned char serial[1] = { ca ? 1 : 2 };
	time_t now = time(NULL);
	gnutls_x509_crt_init(&c);
	gnutls_x509_crt_set_version(c, 3);
	gnutls_x509_crt_set_serial(c, serial, 1);
	gnutls_x509_crt_set_activation_time(c, now - 60);
	gnutls_x509_crt_set_expiration_time(c, now + 3600);
	gnutls_x509_crt_set_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, "test CA", 7);
	gnutls_x509_crt_set_basic_constraints(c, ca ? 1 : 0, -1);
	if (ca)
		gnutls_x509_crt_set_key_usage(c, GNUTLS_KEY_KEY_CERT_SIGN);
	gnutls_x509_crt_set_key(c, k);
	CU_ASSERT(gnutls_x509_crt_sign2(c, c, k, GNUTLS_DIG_SHA256, 0) >= 0);
	return c;
}

static gnutls_x509_crt_t import(const char *pem)
{
	gnutls_x509_crt_t c;
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)pem, (unsigned)strlen(pem) };
	gnutls_x509_crt_init(&c);
	CU_ASSERT(gnutls_x509_crt_import(c, &d, GNUTLS_X509_FMT_PEM) >= 0);
	return c;
}

static int setup(void)
{
	if (!mkdtemp(dir))
		return -1;
	snprintf(cert_path, sizeof(cert_path), "%s/ca.crt", dir);
	snprintf(key_path, sizeof(key_path), "%s/ca.key", dir);
	snprintf(leaf_cert_path, sizeof(leaf_cert_path), "%s/leaf.crt", dir);
	gnutls_x509_privkey_t k;
	gnutls_x509_privkey_init(&k);
	gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA,
				     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	gnutls_datum_t d;
	gnutls_x509_privkey_export2(k, GNUTLS_X509_FMT_PEM, &d);
	df_write_file_atomic(key_path, d.data, d.size, 0600);
	gnutls_free(d.data);
	gnutls_x509_crt_t made = make_cert(k, true);
	write_pem_crt(made, cert_path);
	gnutls_x509_crt_deinit(made);
	/* Verify against the CA as read back: a certificate built in memory lacks the raw
	 * names GnuTLS matches issuers by. */
	char *text = NULL;
	size_t len = 0;
	if (df_read_file(cert_path, 1 << 20, &text, &len) < 0)
		return -1;
	ca_crt = import(text);
	free(text);
	gnutls_x509_crt_t leaf = make_cert(k, false);
	write_pem_crt(leaf, leaf_cert_path);
	gnutls_x509_crt_deinit(leaf);
	gnutls_x509_privkey_deinit(k);
	return 0;
}

static void test_mint_and_verify(void)
{
	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	char err[256] = "";
	struct dd_ca *ca = dd_ca_new(cert_path, key_path, err, sizeof(err));
	if (!ca)
		fprintf(stderr, "  %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
	static const struct {
		const char *host;
		const char *good;
		const char *bad;
	} rows[] = {
		{ "reg.example", "reg.example", "other.example" },
		{ "127.0.0.1", "127.0.0.1", "127.0.0.2" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *pem = NULL, *again = NULL;
		CU_ASSERT_EQUAL_FATAL(dd_ca_leaf_pem(ca, rows[i].host, &pem), 0);
		CU_ASSERT_EQUAL(dd_ca_leaf_pem(ca, rows[i].host, &again), 0);
		UNIT_STR_EQ(again, pem); /* cached, not minted twice */
		gnutls_x509_crt_t leaf = import(pem);
		unsigned status = 99;
		CU_ASSERT(gnutls_x509_crt_verify(leaf, &ca_crt, 1, 0, &status) >= 0);
		if (status != 0) {
			gnutls_datum_t out;
			gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0);
			fprintf(stderr, "  %s: %s\n", rows[i].host, out.data);
			gnutls_free(out.data);
		}
		CU_ASSERT_EQUAL(status, 0);
		CU_ASSERT_TRUE(gnutls_x509_crt_check_hostname(leaf, rows[i].good));
		CU_ASSERT_FALSE(gnutls_x509_crt_check_hostname(leaf, rows[i].bad));
		gnutls_x509_crt_deinit(leaf);
		free(pem);
		free(again);
	}
	dd_ca_free(ca);
}

static void test_refused(void)
{
	char err[256] = "";
	CU_ASSERT_PTR_NULL(dd_ca_new(leaf_cert_path, key_path, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a CA"));
	CU_ASSERT_PTR_NULL(dd_ca_new("/nonexistent.crt", key_path, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot read"));
	CU_ASSERT_PTR_NULL(dd_ca_new(cert_path, cert_path, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "private key"));
	gnutls_x509_crt_deinit(ca_crt);
	df_remove_tree(dir);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_mint_and_verify),
	UNIT_TEST(test_refused),
};

UNIT_MAIN("dd_ca", tests)
