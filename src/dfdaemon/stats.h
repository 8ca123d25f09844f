/* dfdaemon's counters, served as JSON at /_dfdaemon/stats so that tests and operators can
 * tell P2P from fallbacks. Every field is atomic: thread-safe without a lock. */
#ifndef DD_STATS_H
#define DD_STATS_H

#include <stdatomic.h>

struct dd_stats {
	atomic_llong requests;	    /* every request answered */
	atomic_llong active;	    /* requests being served now */
	atomic_llong rejected;	    /* answered 503: over max_requests */
	atomic_llong forwarded;	    /* sent to an upstream directly (manifests, tokens...) */
	atomic_llong blob_requests; /* blob GETs served through P2P */
	atomic_llong p2p_started;   /* P2P downloads started (the rest joined one) */
	atomic_llong p2p_joined;
	atomic_llong p2p_failed;    /* P2P downloads that failed */
	atomic_llong fallbacks;	    /* blob requests finished from the registry directly */
	atomic_llong auth_denied;   /* blob requests the registry refused (401/403) */
	atomic_llong digest_errors; /* blobs whose content did not match their digest */
	atomic_llong bytes_p2p;	    /* blob bytes sent to clients from P2P downloads */
	atomic_llong bytes_fallback;
	atomic_llong tunnels;	    /* CONNECT tunnels opened */
	atomic_llong hijacked;	    /* CONNECT sessions intercepted (HTTPS hijack) */
	atomic_llong tls_probes;    /* TLS handshakes refused on the plain-HTTP port */
};

/* The counters as a JSON object (heap string, the caller's). */
char *dd_stats_json(struct dd_stats *s);

#endif
