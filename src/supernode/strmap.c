/* strmap: open-addressing string hash map. See strmap.h; no locking of its own. */
#include "config.h"
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* A slot is empty (key NULL, value NULL), a tombstone (key NULL, value TOMB) or used. */
static char tomb_marker;
#define TOMB ((void *)&tomb_marker)

struct slot {
	const char *key;
	void *value;
	uint64_t hash;
};

struct sn_strmap {
	struct slot *slots;
	size_t cap; /* a power of two */
	size_t used; /* live entries */
	size_t tombs;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

struct sn_strmap *sn_strmap_new(void)
{
	struct sn_strmap *m = xcalloc(1, sizeof(*m));
	m->cap = 16;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	return m;
}

void sn_strmap_free(struct sn_strmap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

size_t sn_strmap_count(const struct sn_strmap *m)
{
	return m->used;
}

/* The slot holding key, or NULL. */
static struct slot *find(const struct sn_strmap *m, const char *key, uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = h & mask, n = 0; n < m->cap; i = (i + 1) & mask, n++) {
		struct slot *s = &m->slots[i];
		if (!s->key && s->value != TOMB)
			return NULL;
		if (s->key && s->hash == h && strcmp(s->key, key) == 0)
			return s;
	}
	return NULL;
}

void *sn_strmap_get(const struct sn_strmap *m, const char *key)
{
	struct slot *s = find(m, key, hash_str(key));
	return s ? s->value : NULL;
}

static void insert_new(struct sn_strmap *m, const char *key, void *value, uint64_t h)
{
	size_t mask = m->cap - 1;
	size_t i = h & mask;
	while (m->slots[i].key)
		i = (i + 1) & mask;
	if (m->slots[i].value == TOMB)
		m->tombs--;
	m->slots[i] = (struct slot){ key, value, h };
	m->used++;
}

static void rehash(struct sn_strmap *m, size_t cap)
{
	struct slot *old = m->slots;
	size_t oldcap = m->cap;
	m->slots = xcalloc(cap, sizeof(*m->slots));
	m->cap = cap;
	m->used = 0;
	m->tombs = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			insert_new(m, old[i].key, old[i].value, old[i].hash);
	free(old);
}

void *sn_strmap_put(struct sn_strmap *m, const char *key, void *value)
{
	uint64_t h = hash_str(key);
	struct slot *s = find(m, key, h);
	if (s) {
		void *old = s->value;
		s->key = key;
		s->value = value;
		return old;
	}
	if ((m->used + m->tombs + 1) * 4 > m->cap * 3) {
		size_t cap = m->cap;
		while ((m->used + 1) * 2 > cap)
			cap *= 2;
		rehash(m, cap);
	}
	insert_new(m, key, value, h);
	return NULL;
}

void *sn_strmap_del(struct sn_strmap *m, const char *key)
{
	struct slot *s = find(m, key, hash_str(key));
	if (!s)
		return NULL;
	void *old = s->value;
	s->key = NULL;
	s->value = TOMB;
	m->used--;
	m->tombs++;
	if (m->cap > 16 && m->used * 8 < m->cap)
		rehash(m, m->cap / 2);
	return old;
}

void *sn_strmap_next(const struct sn_strmap *m, size_t *pos, const char **key_r)
{
	for (; *pos < m->cap; (*pos)++) {
		struct slot *s = &m->slots[*pos];
		if (s->key) {
			(*pos)++;
			if (key_r)
				*key_r = s->key;
			return s->value;
		}
	}
	return NULL;
}
