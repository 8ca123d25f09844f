/* Filesystem helpers shared by the binaries: whole reads and writes that survive short I/O
 * and EINTR, atomic replacement of a file, directories, free space. Thread-safe (no shared
 * state). All return 0 or -errno unless said otherwise. */
#ifndef DF_FSUTIL_H
#define DF_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int df_write_all(int fd, const void *buf, size_t len);
int df_pwrite_all(int fd, const void *buf, size_t len, off_t offset);
/* Read exactly len bytes at offset; -EIO at a premature end of file. */
int df_pread_all(int fd, void *buf, size_t len, off_t offset);

/* Read a whole file of at most max bytes into a NUL-terminated heap buffer (the caller's).
 * -EFBIG when it is larger. */
int df_read_file(const char *path, size_t max, char **data_r, size_t *len_r);

/* Write data to path atomically: a temporary file beside it, fsync, rename, fsync of the
 * directory. Readers see the old content or the new, never a mix. */
int df_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* fsync tmp, rename it to final, fsync final's directory. */
int df_rename_into_place(const char *tmp, const char *final);

/* mkdir -p with mode for the created components. */
int df_mkdir_p(const char *path, mode_t mode);

/* Bytes available to an unprivileged user on the filesystem holding path. */
int df_free_space(const char *path, int64_t *bytes_r);

/* 0 when the filesystem holding path has at least need + reserve bytes free, else -ENOSPC. */
int df_check_free_space(const char *path, int64_t need, int64_t reserve);

/* Remove a file or a whole directory tree; missing is not an error. */
int df_remove_tree(const char *path);

/* The directory part of path, as a heap string (the caller's): "a/b" -> "a", "b" -> ".". */
char *df_dirname(const char *path);

#endif
