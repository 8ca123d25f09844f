/* registry: the task and peer maps behind one mutex (see registry.h). The lock is held for
 * map operations only; task references are taken inside it so a task cannot vanish between
 * lookup and use. */
#include "config.h"
#include "registry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "task.h"
#include "xalloc.h"

struct peer {
	char key[96]; /* "ip:port" */
	struct sn_peer_info info;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sn_strmap *tasks;	 /* guarded by reg_lock */
static struct sn_strmap *peers;	 /* guarded by reg_lock */

void sn_registry_init(void)
{
	pthread_mutex_lock(&reg_lock);
	if (!tasks)
		tasks = sn_strmap_new();
	if (!peers)
		peers = sn_strmap_new();
	pthread_mutex_unlock(&reg_lock);
}

void sn_registry_cleanup(void)
{
	pthread_mutex_lock(&reg_lock);
	struct sn_strmap *t = tasks, *p = peers;
	tasks = peers = NULL;
	pthread_mutex_unlock(&reg_lock);
	size_t pos = 0;
	void *v;
	while (t && (v = sn_strmap_next(t, &pos, NULL)))
		sn_task_unref(v);
	pos = 0;
	while (p && (v = sn_strmap_next(p, &pos, NULL)))
		free(v);
	sn_strmap_free(t);
	sn_strmap_free(p);
}

struct sn_task *sn_registry_get(const char *id)
{
	pthread_mutex_lock(&reg_lock);
	struct sn_task *t = tasks ? sn_strmap_get(tasks, id) : NULL;
	if (t)
		sn_task_ref(t);
	pthread_mutex_unlock(&reg_lock);
	return t;
}

struct sn_task *sn_registry_add(struct sn_task *t, bool *added_r)
{
	pthread_mutex_lock(&reg_lock);
	struct sn_task *have = sn_strmap_get(tasks, t->id);
	if (have) {
		sn_task_ref(have);
		*added_r = false;
	} else {
		sn_task_ref(t); /* the registry's */
		sn_strmap_put(tasks, t->id, t);
		sn_task_ref(t); /* the caller's */
		have = t;
		*added_r = true;
	}
	pthread_mutex_unlock(&reg_lock);
	return have;
}

bool sn_registry_remove(struct sn_task *t)
{
	bool removed = false;
	pthread_mutex_lock(&reg_lock);
	if (tasks && sn_strmap_get(tasks, t->id) == t) {
		sn_strmap_del(tasks, t->id);
		removed = true;
	}
	pthread_mutex_unlock(&reg_lock);
	if (removed)
		sn_task_unref(t);
	return removed;
}

struct sn_task **sn_registry_tasks(size_t *n_r)
{
	pthread_mutex_lock(&reg_lock);
	size_t n = tasks ? sn_strmap_count(tasks) : 0, i = 0, pos = 0;
	struct sn_task **out = xcalloc(n + 1, sizeof(*out));
	struct sn_task *t;
	while (tasks && i < n && (t = sn_strmap_next(tasks, &pos, NULL))) {
		sn_task_ref(t);
		out[i++] = t;
	}
	pthread_mutex_unlock(&reg_lock);
	*n_r = i;
	return out;
}

size_t sn_registry_task_count(void)
{
	pthread_mutex_lock(&reg_lock);
	size_t n = tasks ? sn_strmap_count(tasks) : 0;
	pthread_mutex_unlock(&reg_lock);
	return n;
}

static void copy_str(char *dst, size_t sz, const char *src)
{
	snprintf(dst, sz, "%s", src ? src : "");
}

void sn_registry_peer_seen(const char *ip, int port, const char *host_name,
			   const char *version, int64_t now_wall_ms)
{
	char key[96];
	snprintf(key, sizeof(key), "%.63s:%d", ip, port);
	pthread_mutex_lock(&reg_lock);
	if (!peers) {
		pthread_mutex_unlock(&reg_lock);
		return;
	}
	struct peer *p = sn_strmap_get(peers, key);
	if (!p) {
		p = xcalloc(1, sizeof(*p));
		memcpy(p->key, key, sizeof(key));
		copy_str(p->info.ip, sizeof(p->info.ip), ip);
		p->info.port = port;
		p->info.first_seen_ms = now_wall_ms;
		sn_strmap_put(peers, p->key, p);
	}
	copy_str(p->info.host_name, sizeof(p->info.host_name), host_name);
	copy_str(p->info.version, sizeof(p->info.version), version);
	p->info.last_seen_ms = now_wall_ms;
	pthread_mutex_unlock(&reg_lock);
}

bool sn_registry_peer_remove(const char *ip, int port)
{
	char key[96];
	snprintf(key, sizeof(key), "%.63s:%d", ip, port);
	pthread_mutex_lock(&reg_lock);
	struct peer *p = peers ? sn_strmap_del(peers, key) : NULL;
	pthread_mutex_unlock(&reg_lock);
	bool had = p != NULL;
	free(p);
	return had;
}

size_t sn_registry_peer_expire(int64_t before_wall_ms)
{
	size_t n = 0;
	pthread_mutex_lock(&reg_lock);
	size_t total = peers ? sn_strmap_count(peers) : 0, pos = 0;
	struct peer **old = xcalloc(total + 1, sizeof(*old));
	struct peer *p;
	while (peers && (p = sn_strmap_next(peers, &pos, NULL)))
		if (p->info.last_seen_ms < before_wall_ms)
			old[n++] = p;
	for (size_t i = 0; i < n; i++)
		sn_strmap_del(peers, old[i]->key); /* after the iteration: the map may shrink */
	pthread_mutex_unlock(&reg_lock);
	for (size_t i = 0; i < n; i++)
		free(old[i]);
	free(old);
	return n;
}

size_t sn_registry_peer_count(void)
{
	pthread_mutex_lock(&reg_lock);
	size_t n = peers ? sn_strmap_count(peers) : 0;
	pthread_mutex_unlock(&reg_lock);
	return n;
}

struct sn_peer_info *sn_registry_peers(size_t *n_r)
{
	pthread_mutex_lock(&reg_lock);
	size_t n = peers ? sn_strmap_count(peers) : 0, i = 0, pos = 0;
	struct sn_peer_info *out = xcalloc(n + 1, sizeof(*out));
	struct peer *p;
	while (peers && i < n && (p = sn_strmap_next(peers, &pos, NULL)))
		out[i++] = p->info;
	pthread_mutex_unlock(&reg_lock);
	*n_r = i;
	return out;
}
