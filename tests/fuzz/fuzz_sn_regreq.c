/* libFuzzer: registration bodies (POST /peer/registry), JSON and form, then the checks.
 * fuzz-libs: supernode
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "supernode/regreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sn_regreq r;
	char err[512];
	/* The first byte picks the content type. */
	const char *ctype = size && (data[0] & 1) ? "application/x-www-form-urlencoded"
						 : "application/json";
	if (sn_regreq_parse(ctype, (const char *)data, size, &r, err, sizeof(err)) == 0) {
		if (sn_regreq_validate(&r, err, sizeof(err)) == 0) {
			/* A valid registration has the strings the handler relies on. */
			if (!r.raw_url || !r.task_url || !r.cid || !*r.cid || (r.nheaders && !r.headers))
				__builtin_trap();
			(void)sn_regreq_range(&r);
			(void)sn_regreq_can_serve(&r);
		}
		sn_regreq_cleanup(&r);
	}
	return 0;
}
