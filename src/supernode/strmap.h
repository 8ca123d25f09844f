/* strmap: a hash map from NUL-terminated string keys to pointers (open addressing, linear
 * probing, tombstones), used for the task, peer and per-task client maps.
 *
 * Keys are borrowed: the map stores the key pointer it was given, which must stay valid
 * and unchanged while the entry exists (callers point it into the value they store).
 * No locking: the owner of the map serialises access (the registry lock, a task lock).
 */
#ifndef SN_STRMAP_H
#define SN_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct sn_strmap;

struct sn_strmap *sn_strmap_new(void);
/* Frees the map, not the values. Accepts NULL. */
void sn_strmap_free(struct sn_strmap *m);

size_t sn_strmap_count(const struct sn_strmap *m);
/* The value for key, or NULL. */
void *sn_strmap_get(const struct sn_strmap *m, const char *key);
/* Insert or replace. Returns the value replaced, or NULL. */
void *sn_strmap_put(struct sn_strmap *m, const char *key, void *value);
/* Remove key. Returns the value removed, or NULL. */
void *sn_strmap_del(struct sn_strmap *m, const char *key);

/* Iterate: start with *pos = 0; each call returns the next value (and its key in key_r
 * when not NULL), or NULL at the end. The map must not change during the iteration. */
void *sn_strmap_next(const struct sn_strmap *m, size_t *pos, const char **key_r);

#endif
