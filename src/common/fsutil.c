#include "config.h"
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "xalloc.h"

int df_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int df_pwrite_all(int fd, const void *buf, size_t len, off_t offset)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, offset);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		offset += n;
	}
	return 0;
}

int df_pread_all(int fd, void *buf, size_t len, off_t offset)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = pread(fd, p, len, offset);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		offset += n;
	}
	return 0;
}

int df_read_file(const char *path, size_t max, char **data_r, size_t *len_r)
{
	int result = 0;
	char *data = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		result = -errno;
		goto out;
	}
	/* Character devices and pipes are read to their end ("--config /dev/null"). */
	if (S_ISDIR(st.st_mode)) {
		result = -EISDIR;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		result = -EFBIG;
		goto out;
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	data = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > max + 1) {
				result = -EFBIG;
				goto out;
			}
			cap *= 2;
			data = xrealloc(data, cap);
		}
		ssize_t n = read(fd, data + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			result = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		result = -EFBIG;
		goto out;
	}
	data[len] = '\0';
	*data_r = data;
	*len_r = len;
	data = NULL;
out:
	free(data);
	close(fd);
	return result;
}

static int fsync_dir_of(const char *path)
{
	char *dir = df_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	/* Some filesystems (tmpfs in old kernels) refuse fsync on directories: harmless. */
	return rc == -EINVAL ? 0 : rc;
}

int df_rename_into_place(const char *tmp, const char *final)
{
	int fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	if (rc < 0)
		return rc;
	if (rename(tmp, final) < 0)
		return -errno;
	return fsync_dir_of(final);
}

int df_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int rc;
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = df_write_all(fd, data, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	else
		rc = fsync_dir_of(path);
out:
	free(tmp);
	return rc;
}

int df_mkdir_p(const char *path, mode_t mode)
{
	if (!path || !*path)
		return -EINVAL;
	char *copy = xstrdup(path);
	int rc = 0;
	for (char *p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST) {
			rc = -errno;
			break;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	if (rc == 0) {
		struct stat st;
		if (stat(path, &st) < 0)
			rc = -errno;
		else if (!S_ISDIR(st.st_mode))
			rc = -ENOTDIR;
	}
	free(copy);
	return rc;
}

int df_free_space(const char *path, int64_t *bytes_r)
{
	struct statvfs st;
	if (statvfs(path, &st) < 0)
		return -errno;
	*bytes_r = (int64_t)st.f_bavail * (int64_t)st.f_frsize;
	return 0;
}

int df_check_free_space(const char *path, int64_t need, int64_t reserve)
{
	int64_t avail = 0;
	int rc = df_free_space(path, &avail);
	if (rc < 0)
		return rc;
	return avail >= need + reserve ? 0 : -ENOSPC;
}

static int remove_tree_at(int parent_fd, const char *name, int depth)
{
	if (depth > 64)
		return -ELOOP;
	if (unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = -errno;
		close(fd);
		return e;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int r = remove_tree_at(dirfd(d), de->d_name, depth + 1);
		if (r < 0 && rc == 0)
			rc = r;
	}
	closedir(d);
	if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && rc == 0)
		rc = -errno;
	return rc;
}

int df_remove_tree(const char *path)
{
	return remove_tree_at(AT_FDCWD, path, 0);
}

char *df_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}
