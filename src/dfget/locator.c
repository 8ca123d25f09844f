/* Supernode list, weighted order and failover (see locator.h). A locator is used by one
 * thread at a time: no locking. */
#include "config.h"
#include "locator.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "xalloc.h"

struct dg_locator {
	struct dg_node *nodes; /* as given */
	size_t count;
	size_t *order; /* indexes into nodes: the try order */
	size_t pos;    /* into order; == count when exhausted */
};

static void node_cleanup(struct dg_node *n)
{
	free(n->host);
	free(n->hostport);
}

void dg_locator_free(struct dg_locator *loc)
{
	if (!loc)
		return;
	for (size_t i = 0; i < loc->count; i++)
		node_cleanup(&loc->nodes[i]);
	free(loc->nodes);
	free(loc->order);
	free(loc);
}

static bool parse_uint(const char *s, size_t len, long max, long *v_r)
{
	if (len == 0 || len > 9)
		return false;
	long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return false;
	*v_r = v;
	return true;
}

static bool host_ok(const char *h, size_t len, bool v6)
{
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)h[i];
		if (isalnum(c) || c == '.' || c == '-' || c == '_' || (v6 && c == ':'))
			continue;
		return false;
	}
	return true;
}

/* One entry "host[:port][=weight]" of len bytes. */
static int parse_entry(const char *s, size_t len, struct dg_node *n, char *err, size_t errsz)
{
	const char *end = s + len;
	if (len >= 3 && memmem(s, len, "://", 3))
		goto bad;
	const char *eq = memchr(s, '=', len);
	long weight = 1, port = DF_PORT_SUPERNODE_API;
	if (eq) {
		if (!parse_uint(eq + 1, (size_t)(end - eq - 1), DG_NODE_WEIGHT_MAX, &weight) ||
		    weight < 1) {
			snprintf(err, errsz,
				 "node '%.*s': the weight after '=' must be a whole number from 1 "
				 "to %d",
				 (int)len, s, DG_NODE_WEIGHT_MAX);
			return -EINVAL;
		}
		end = eq;
	}
	const char *host = s, *host_end, *colon = NULL;
	bool v6 = false;
	if (*s == '[') {
		const char *rb = memchr(s, ']', (size_t)(end - s));
		if (!rb)
			goto bad;
		host = s + 1;
		host_end = rb;
		v6 = true;
		if (rb + 1 < end) {
			if (rb[1] != ':')
				goto bad;
			colon = rb + 1;
		}
	} else {
		colon = memchr(s, ':', (size_t)(end - s));
		host_end = colon ? colon : end;
	}
	if (colon && (!parse_uint(colon + 1, (size_t)(end - colon - 1), 65535, &port) ||
		      port == 0)) {
		snprintf(err, errsz, "node '%.*s': the port must be a number from 1 to 65535",
			 (int)len, s);
		return -EINVAL;
	}
	if (!host_ok(host, (size_t)(host_end - host), v6))
		goto bad;
	n->host = xstrndup(host, (size_t)(host_end - host));
	n->port = (uint16_t)port;
	n->weight = (int)weight;
	n->hostport = v6 ? xasprintf("[%s]:%u", n->host, (unsigned)n->port)
			 : xasprintf("%s:%u", n->host, (unsigned)n->port);
	return 0;
bad:
	snprintf(err, errsz,
		 "node '%.*s' is not host[:port][=weight] (e.g. 10.0.0.1:8002=2 or "
		 "sn.example.com)",
		 (int)len, s);
	return -EINVAL;
}

int dg_locator_parse(const char *spec, struct dg_locator **loc_r, char *err, size_t errsz)
{
	int result = 0;
	struct dg_locator *loc = xcalloc(1, sizeof(*loc));
	for (const char *p = spec ? spec : "";;) {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		const char *e = end;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > p) {
			struct dg_node n;
			memset(&n, 0, sizeof(n));
			result = parse_entry(p, (size_t)(e - p), &n, err, errsz);
			if (result < 0)
				goto out;
			loc->nodes = xrealloc(loc->nodes, (loc->count + 1) * sizeof(*loc->nodes));
			loc->nodes[loc->count++] = n;
		} else if (comma) {
			snprintf(err, errsz, "node list '%s' has an empty entry", spec);
			result = -EINVAL;
			goto out;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	if (loc->count == 0) {
		snprintf(err, errsz,
			 "no supernode given: use --node host[:port][=weight] or set node= in "
			 "dfget.conf");
		result = -EINVAL;
		goto out;
	}
	loc->order = xcalloc(loc->count, sizeof(*loc->order));
	for (size_t i = 0; i < loc->count; i++)
		loc->order[i] = i;
	*loc_r = loc;
	loc = NULL;
out:
	dg_locator_free(loc);
	return result;
}

size_t dg_locator_count(const struct dg_locator *loc)
{
	return loc->count;
}

const struct dg_node *dg_locator_node(const struct dg_locator *loc, size_t i)
{
	return i < loc->count ? &loc->nodes[i] : NULL;
}

static uint64_t default_rnd(void *arg)
{
	(void)arg;
	return (uint64_t)random() << 31 ^ (uint64_t)random();
}

void dg_locator_shuffle(struct dg_locator *loc, uint64_t (*rnd)(void *arg), void *arg)
{
	if (!rnd)
		rnd = default_rnd;
	size_t left = loc->count;
	size_t *pool = xcalloc(left, sizeof(*pool));
	for (size_t i = 0; i < left; i++)
		pool[i] = i;
	for (size_t k = 0; k < loc->count; k++) {
		uint64_t sum = 0;
		for (size_t i = 0; i < left; i++)
			sum += (uint64_t)loc->nodes[pool[i]].weight;
		uint64_t pick = rnd(arg) % sum;
		size_t i = 0;
		while (pick >= (uint64_t)loc->nodes[pool[i]].weight) {
			pick -= (uint64_t)loc->nodes[pool[i]].weight;
			i++;
		}
		loc->order[k] = pool[i];
		memmove(&pool[i], &pool[i + 1], (left - i - 1) * sizeof(*pool));
		left--;
	}
	free(pool);
	loc->pos = 0;
}

const struct dg_node *dg_locator_current(const struct dg_locator *loc)
{
	return loc->pos < loc->count ? &loc->nodes[loc->order[loc->pos]] : NULL;
}

const struct dg_node *dg_locator_next(struct dg_locator *loc)
{
	if (loc->pos < loc->count)
		loc->pos++;
	return dg_locator_current(loc);
}
