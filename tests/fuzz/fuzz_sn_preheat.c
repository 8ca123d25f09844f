/* libFuzzer: preheat request bodies (POST /api/v1/preheats and /preheats).
 * fuzz-libs: supernode
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "supernode/preheatreq.h"
#include "taskid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_preheat_req r;
	char err[512];
	if (sn_preheat_req_parse((const char *)data, size, &r, err, sizeof(err)) == 0) {
		/* An accepted request has a type, a valid URL, an id and well-formed headers. */
		if (!df_task_id_valid(r.id) || !df_url_valid(r.url) ||
		    (strcmp(r.type, "file") != 0 && strcmp(r.type, "image") != 0))
			__builtin_trap();
		for (size_t i = 0; i < r.nheaders; i++)
			if (!strchr(r.headers[i], ':') || strpbrk(r.headers[i], "\r\n"))
				__builtin_trap();
		struct sn_preheat_req copy;
		sn_preheat_req_copy(&r, &copy);
		sn_preheat_req_cleanup(&copy);
		sn_preheat_req_cleanup(&r);
	}
	return 0;
}
