/* Filesystem helpers: whole writes and reads, atomic replacement, mkdir -p, free space. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "unit.h"

static char dir[64];

static void make_dir(void)
{
	strcpy(dir, "/tmp/df-test-fs-XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
}

static void test_pwrite_pread(void)
{
	make_dir();
	char path[128];
	snprintf(path, sizeof(path), "%s/f", dir);
	int fd = open(path, O_RDWR | O_CREAT, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	/* Out of order, in place, as the piece writer does. */
	CU_ASSERT_EQUAL(df_pwrite_all(fd, "world", 5, 6), 0);
	CU_ASSERT_EQUAL(df_pwrite_all(fd, "hello ", 6, 0), 0);
	char buf[12] = "";
	CU_ASSERT_EQUAL(df_pread_all(fd, buf, 11, 0), 0);
	UNIT_STR_EQ(buf, "hello world");
	CU_ASSERT_EQUAL(df_pread_all(fd, buf, 5, 10), -EIO); /* short file */
	CU_ASSERT_EQUAL(df_write_all(fd, "!", 1), 0);
	close(fd);
	CU_ASSERT_EQUAL(df_pwrite_all(-1, "x", 1, 0), -EBADF);
	df_remove_tree(dir);
}

static void test_read_file_limits(void)
{
	make_dir();
	char path[128];
	snprintf(path, sizeof(path), "%s/f", dir);
	CU_ASSERT_EQUAL(df_write_file_atomic(path, "0123456789", 10, 0644), 0);
	char *data;
	size_t len;
	CU_ASSERT_EQUAL(df_read_file(path, 10, &data, &len), 0);
	CU_ASSERT_EQUAL(len, 10);
	UNIT_STR_EQ(data, "0123456789");
	free(data);
	CU_ASSERT_EQUAL(df_read_file(path, 9, &data, &len), -EFBIG);
	CU_ASSERT_EQUAL(df_read_file(dir, 9, &data, &len), -EISDIR);
	CU_ASSERT_EQUAL(df_read_file("/nonexistent", 9, &data, &len), -ENOENT);
	/* A device reads as what it yields: /dev/null is an empty file. */
	CU_ASSERT_EQUAL(df_read_file("/dev/null", 9, &data, &len), 0);
	CU_ASSERT_EQUAL(len, 0);
	free(data);
	df_remove_tree(dir);
}

static void test_atomic_replace(void)
{
	make_dir();
	char path[128], tmp[128];
	snprintf(path, sizeof(path), "%s/meta", dir);
	CU_ASSERT_EQUAL(df_write_file_atomic(path, "old", 3, 0600), 0);
	CU_ASSERT_EQUAL(df_write_file_atomic(path, "new!", 4, 0600), 0);
	char *data;
	size_t len;
	CU_ASSERT_EQUAL(df_read_file(path, 100, &data, &len), 0);
	UNIT_STR_EQ(data, "new!");
	free(data);
	struct stat st;
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);

	snprintf(tmp, sizeof(tmp), "%s/download.tmp", dir);
	CU_ASSERT_EQUAL(df_write_file_atomic(tmp, "body", 4, 0644), 0);
	char final[128];
	snprintf(final, sizeof(final), "%s/out", dir);
	CU_ASSERT_EQUAL(df_rename_into_place(tmp, final), 0);
	CU_ASSERT_EQUAL(access(tmp, F_OK), -1);
	CU_ASSERT_EQUAL(access(final, F_OK), 0);
	CU_ASSERT_EQUAL(df_rename_into_place(tmp, final), -ENOENT);
	/* A directory that cannot be written: the old file stays, no temporary left. */
	CU_ASSERT_EQUAL(df_write_file_atomic("/nonexistent/x", "a", 1, 0644), -ENOENT);
	df_remove_tree(dir);
}

static void test_mkdir_p_and_remove_tree(void)
{
	make_dir();
	char deep[160], file[200];
	snprintf(deep, sizeof(deep), "%s/a/b/c", dir);
	CU_ASSERT_EQUAL(df_mkdir_p(deep, 0755), 0);
	CU_ASSERT_EQUAL(df_mkdir_p(deep, 0755), 0); /* idempotent */
	snprintf(file, sizeof(file), "%s/f", deep);
	CU_ASSERT_EQUAL(df_write_file_atomic(file, "x", 1, 0644), 0);
	CU_ASSERT_EQUAL(df_mkdir_p(file, 0755), -ENOTDIR);
	CU_ASSERT_EQUAL(df_mkdir_p("", 0755), -EINVAL);
	char link[160];
	snprintf(link, sizeof(link), "%s/link", dir);
	CU_ASSERT_EQUAL(symlink("/tmp", link), 0);
	CU_ASSERT_EQUAL(df_remove_tree(dir), 0);
	CU_ASSERT_EQUAL(access(dir, F_OK), -1);
	CU_ASSERT_EQUAL(access("/tmp", F_OK), 0); /* symlink removed, never followed */
	CU_ASSERT_EQUAL(df_remove_tree(dir), 0);  /* missing is fine */
}

static void test_free_space_and_dirname(void)
{
	int64_t avail = -1;
	CU_ASSERT_EQUAL(df_free_space("/tmp", &avail), 0);
	CU_ASSERT_TRUE(avail > 0);
	CU_ASSERT_EQUAL(df_check_free_space("/tmp", 1, 0), 0);
	CU_ASSERT_EQUAL(df_check_free_space("/tmp", avail + (1LL << 50), 0), -ENOSPC);
	CU_ASSERT_EQUAL(df_free_space("/nonexistent", &avail), -ENOENT);
	char *d = df_dirname("/a/b/c");
	UNIT_STR_EQ(d, "/a/b");
	free(d);
	d = df_dirname("c");
	UNIT_STR_EQ(d, ".");
	free(d);
	d = df_dirname("/c");
	UNIT_STR_EQ(d, "/");
	free(d);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_pwrite_pread),	    UNIT_TEST(test_read_file_limits),
	UNIT_TEST(test_atomic_replace),	    UNIT_TEST(test_mkdir_p_and_remove_tree),
	UNIT_TEST(test_free_space_and_dirname),
};
UNIT_MAIN("fsutil", tests)
