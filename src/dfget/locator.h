/* The supernode list of one download: "host[:port][=weight],..." as given with --node or
 * in dfget.conf, the order in which the download tries them, and failover to the next.
 *
 * The order is a weighted draw without replacement: the first node is node i with
 * probability weight_i / sum, the second is drawn the same way from the rest, and so on,
 * so heavier nodes carry proportionally more downloads and every node is tried once before
 * the download gives up. A locator belongs to one download (one thread at a time). */
#ifndef DG_LOCATOR_H
#define DG_LOCATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DG_NODE_WEIGHT_MAX 1000

struct dg_node {
	char *host;	/* name or address (IPv6 without brackets) */
	uint16_t port;	/* 8002 when not given */
	int weight;	/* 1..DG_NODE_WEIGHT_MAX, 1 when not given */
	char *hostport; /* "host:port" ("[v6]:port"), as used in URLs and in superNode= */
};

struct dg_locator;

/* Parse a list. Entries are separated by ',' (spaces around them are ignored); an empty
 * list is an error. Returns 0 and the locator (the caller's), or -EINVAL with the reason. */
int dg_locator_parse(const char *spec, struct dg_locator **loc_r, char *err, size_t errsz);
void dg_locator_free(struct dg_locator *loc);

size_t dg_locator_count(const struct dg_locator *loc);
/* Node i in the order given (for listing), or NULL. */
const struct dg_node *dg_locator_node(const struct dg_locator *loc, size_t i);

/* Draw the try order. rnd returns uniform 64-bit values (NULL: random()). Resets the
 * position to the first node of the new order. */
void dg_locator_shuffle(struct dg_locator *loc, uint64_t (*rnd)(void *arg), void *arg);

/* The node to use now, or NULL when every node was tried. */
const struct dg_node *dg_locator_current(const struct dg_locator *loc);
/* Move on after a failure; returns the next node or NULL when none is left. */
const struct dg_node *dg_locator_next(struct dg_locator *loc);

#endif
