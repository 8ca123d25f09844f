/* Atomic placement of a finished download (see output.h). No shared state. */
#include "config.h"
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "xalloc.h"

char *dg_output_temp(const char *output, const char *sign)
{
	char *dir = df_dirname(output);
	const char *base = strrchr(output, '/');
	base = base ? base + 1 : output;
	char *tmp = xasprintf("%s/.%.100s.dfget-%s.tmp", dir, base, sign);
	free(dir);
	return tmp;
}

int dg_output_prepare_dir(const char *output, char *err, size_t errsz)
{
	char *dir = df_dirname(output);
	int rc = df_mkdir_p(dir, 0755);
	if (rc == 0 && access(dir, W_OK) < 0)
		rc = -errno;
	if (rc < 0)
		snprintf(err, errsz, "cannot write to the output directory %s: %s", dir,
			 strerror(-rc));
	free(dir);
	return rc;
}

bool dg_same_fs(const char *path_a, const char *path_b)
{
	char *a = df_dirname(path_a), *b = df_dirname(path_b);
	struct stat sa, sb;
	bool same = stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev;
	free(a);
	free(b);
	return same;
}

static int copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		int e = -errno;
		close(in);
		return e;
	}
	int rc = 0;
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
			char buf[65536];
			ssize_t r;
			while ((r = read(in, buf, sizeof(buf))) > 0) {
				rc = df_write_all(out, buf, (size_t)r);
				if (rc < 0)
					break;
			}
			if (r < 0)
				rc = -errno;
			break;
		}
		if (n < 0) {
			rc = -errno;
			break;
		}
	}
	if (close(out) < 0 && rc == 0)
		rc = -errno;
	close(in);
	if (rc < 0)
		unlink(dst);
	return rc;
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int dg_output_from_data(const char *data_path, const char *output, const char *sign,
			char *err, size_t errsz)
{
	char *tmp = dg_output_temp(output, sign);
	int rc = fsync_path(data_path);
	if (rc < 0) {
		snprintf(err, errsz, "cannot sync %s: %s", data_path, strerror(-rc));
		goto out;
	}
	unlink(tmp);
	if (link(data_path, tmp) < 0) {
		rc = copy_file(data_path, tmp);
		if (rc < 0) {
			snprintf(err, errsz, "cannot copy the download to %s: %s", tmp,
				 strerror(-rc));
			goto out;
		}
	}
	rc = dg_output_rename(tmp, output, err, errsz);
out:
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

int dg_output_rename(const char *tmp, const char *output, char *err, size_t errsz)
{
	int rc = df_rename_into_place(tmp, output);
	if (rc < 0)
		snprintf(err, errsz, "cannot move the download to %s: %s", output, strerror(-rc));
	return rc;
}
