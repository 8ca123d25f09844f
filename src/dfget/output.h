/* Putting a verified download at its output path, atomically: the file appears whole or
 * not at all. From the data file (P2P): a hard link to a temporary name beside the output
 * (a copy when the two are on different filesystems), then rename; from a temporary file
 * beside the output (the source): rename. One fsync of the content, one of the directory.
 * No shared state; thread-safe. */
#ifndef DG_OUTPUT_H
#define DG_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

/* "<dir>/.<base>.dfget-<sign>.tmp" (heap). */
char *dg_output_temp(const char *output, const char *sign);

/* Create the output's directory if needed and check that it is writable. */
int dg_output_prepare_dir(const char *output, char *err, size_t errsz);

/* True when both paths' directories are on the same filesystem. */
bool dg_same_fs(const char *path_a, const char *path_b);

/* data_path (complete, verified) -> output. */
int dg_output_from_data(const char *data_path, const char *output, const char *sign,
			char *err, size_t errsz);

/* A complete temporary file beside the output -> output. */
int dg_output_rename(const char *tmp, const char *output, char *err, size_t errsz);

#endif
