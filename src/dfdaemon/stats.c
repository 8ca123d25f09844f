/* JSON view of the counters (see stats.h). Lock-free: each counter is read atomically. */
#include "config.h"
#include "stats.h"

#include "json.h"

char *dd_stats_json(struct dd_stats *s)
{
	cJSON *j = df_json_object();
#define F(name) df_json_add_int(j, #name, atomic_load(&s->name))
	F(requests);
	F(active);
	F(rejected);
	F(forwarded);
	F(blob_requests);
	F(p2p_started);
	F(p2p_joined);
	F(p2p_failed);
	F(fallbacks);
	F(auth_denied);
	F(digest_errors);
	F(bytes_p2p);
	F(bytes_fallback);
	F(tunnels);
	F(hijacked);
	F(tls_probes);
#undef F
	char *text = df_json_print(j);
	cJSON_Delete(j);
	return text;
}
