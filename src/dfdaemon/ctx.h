/* The state of one running dfdaemon, shared by its modules. Everything here is set up
 * before the listeners start and read-only afterwards, except the counters (atomic) and
 * the objects that lock for themselves (blobs, CA). */
#ifndef DD_CTX_H
#define DD_CTX_H

#include <stdatomic.h>
#include <stdbool.h>

#include "blob.h"
#include "settings.h"
#include "stats.h"

struct dd_ca;
struct dd_server;

struct dd_ctx {
	const struct dd_settings *s;
	struct dd_blobs *blobs;
	struct dd_ca *ca;	  /* NULL unless HTTPS hijack is configured */
	struct dd_server *server;
	struct dd_stats stats;
	atomic_bool stopping;
};

#endif
