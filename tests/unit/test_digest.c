/* md5 and sha256 over GnuTLS: known vectors, streaming equals one-shot, files. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "unit.h"

static void test_vectors(void)
{
	char md5[33], sha[65];
	df_md5_hex("", 0, md5);
	UNIT_STR_EQ(md5, "d41d8cd98f00b204e9800998ecf8427e");
	df_md5_hex("abc", 3, md5);
	UNIT_STR_EQ(md5, "900150983cd24fb0d6963f7d28e17f72");
	df_sha256_hex("", 0, sha);
	UNIT_STR_EQ(sha, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	df_sha256_hex("abc", 3, sha);
	UNIT_STR_EQ(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_streaming_equals_oneshot(void)
{
	static char data[100000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + 3);
	char one[65], streamed[65], peek[65];
	df_sha256_hex(data, sizeof(data), one);
	struct df_digest d;
	df_digest_init(&d, DF_DIGEST_SHA256);
	for (size_t off = 0; off < sizeof(data); off += 777) {
		size_t n = sizeof(data) - off < 777 ? sizeof(data) - off : 777;
		df_digest_update(&d, data + off, n);
	}
	df_digest_peek_hex(&d, peek);
	df_digest_update(&d, "", 0);
	df_digest_final_hex(&d, streamed);
	UNIT_STR_EQ(streamed, one);
	UNIT_STR_EQ(peek, one);

	char md5a[33], md5b[33];
	df_md5_hex(data, sizeof(data), md5a);
	df_digest_init(&d, DF_DIGEST_MD5);
	df_digest_update(&d, data, 5);
	df_digest_update(&d, data + 5, sizeof(data) - 5);
	df_digest_final_hex(&d, md5b);
	UNIT_STR_EQ(md5b, md5a);

	df_digest_init(&d, DF_DIGEST_MD5);
	df_digest_update(&d, data, 5);
	df_digest_abort(&d);
	CU_ASSERT_PTR_NULL(d.handle);
}

static void test_file_digest(void)
{
	char path[] = "/tmp/df-test-digest-XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "abc", 3), 3);
	close(fd);
	char sha[65], md5[33];
	CU_ASSERT_EQUAL(df_file_digest_hex(path, DF_DIGEST_SHA256, sha), 0);
	UNIT_STR_EQ(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CU_ASSERT_EQUAL(df_file_digest_hex(path, DF_DIGEST_MD5, md5), 0);
	UNIT_STR_EQ(md5, "900150983cd24fb0d6963f7d28e17f72");
	unlink(path);
	CU_ASSERT_EQUAL(df_file_digest_hex(path, DF_DIGEST_MD5, md5), -ENOENT);
}

static void test_hex_encode(void)
{
	char hex[9];
	df_hex_encode((const unsigned char *)"\x00\x7f\xab\xff", 4, hex);
	UNIT_STR_EQ(hex, "007fabff");
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_vectors),
	UNIT_TEST(test_streaming_equals_oneshot),
	UNIT_TEST(test_file_digest),
	UNIT_TEST(test_hex_encode),
};
UNIT_MAIN("digest", tests)
