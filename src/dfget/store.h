/* The on-disk layout of a dfget work home, shared by the download engine and the uploader
 * (`dfget server`), and the names that live in it.
 *
 *   <home>/data/<taskFileName>         the content of one download, unframed, written in
 *                                      place; the uploader serves it (re-framed)
 *   <home>/meta/pieces/<taskFileName>  one byte per piece, 1 once the piece is verified and
 *                                      written: the uploader serves only those pieces of a
 *                                      download still in progress
 *   <home>/meta/host.meta              {"servicePort":N}: the uploader of this host
 *   <home>/meta/lock                   flock()ed while a dfget finds or starts the uploader
 *   <home>/meta/uploader.pid           the uploader's process id while it runs
 *   <home>/logs/dfclient.log, dfserver.log
 *
 * Pure helpers and small file operations; no shared state, thread-safe. */
#ifndef DG_STORE_H
#define DG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Paths of one work home (heap strings owned by the struct). */
struct dg_home {
	char *root;
	char *data;
	char *meta;
	char *pieces;
	char *logs;
	char *host_meta;
	char *lock;
};

/* Fill h for root ("~/" expanded). With create, make the directories (0755). Returns 0 or
 * -errno with the reason in err; either way h is then the caller's to dg_home_cleanup. */
int dg_home_init(struct dg_home *h, const char *root, bool create, char *err, size_t errsz);
void dg_home_cleanup(struct dg_home *h);

/* "~" or "~/x" -> $HOME or $HOME/x; anything else copied. Returns a heap string. */
char *dg_expand_home(const char *path);

/* A per-download signature "<pid>-<unix ms>-<6 random hex>": unique per download, also
 * between downloads of one process. */
void dg_make_sign(char *buf, size_t bufsz);

/* "<basename of output>-<sign>", characters outside [A-Za-z0-9._-] replaced by '_' and the
 * basename cut to 80 bytes. Returns a heap string. */
char *dg_task_file_name(const char *output, const char *sign);

/* True for a name the uploader may serve: 1-200 bytes of [A-Za-z0-9._-], not starting with
 * '.', so no path, no "..", no hidden files. */
bool dg_task_file_name_valid(const char *name);

/* host.meta: {"servicePort":N}. read returns 0 with the port (0 = none running), -ENOENT
 * when absent, -EINVAL when unreadable. write is atomic. */
int dg_host_meta_read(const char *path, uint16_t *port_r);
int dg_host_meta_write(const char *path, uint16_t port);

/* The piece map: byte n is 1 once piece n is complete. */
int dg_piecemap_mark(int fd, int64_t n);
/* 0 with *has_r; -errno on I/O errors. A short file means "not yet". */
int dg_piecemap_has(int fd, int64_t n, bool *has_r);

/* The sha256 digest a URL names ("sha256:<64 hex>", also "sha256%3A<hex>", as in OCI blob
 * URLs), lowercased into hex_r. False when there is none. */
bool dg_sha256_from_url(const char *url, char hex_r[65]);

#endif
