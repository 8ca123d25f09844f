/* libFuzzer: the body of POST /peer/registry (src/supernode/regreq.h), as JSON and as a
 * form, then the checks the supernode runs on it, the Range header it may carry and the
 * base64 of rootCAs. Input: one byte choosing the content type (JSON, a form, a form with
 * a charset, text/plain, none), then the body.
 * fuzz-libs: supernode
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supernode/regreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = { "application/json",
					     "application/x-www-form-urlencoded",
					     "application/x-www-form-urlencoded; charset=utf-8",
					     "text/plain", NULL };
	if (size < 1)
		return 0;
	const char *ct = types[data[0] % 5];
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	char err[512];
	struct sn_regreq r;
	if (sn_regreq_parse(ct, body, len, &r, err, sizeof(err)) == 0) {
		/* Every string field is set after a successful parse. */
		if (!r.raw_url || !r.task_url || !r.cid || !r.ip || !r.pattern)
			__builtin_trap();
		for (size_t i = 0; i < r.nheaders; i++)
			if (!r.headers[i])
				__builtin_trap();
		if (sn_regreq_validate(&r, err, sizeof(err)) == 0) {
			if (r.port != 0 && (r.port < 15000 || r.port > 65000))
				__builtin_trap();
			(void)sn_regreq_range(&r);
			(void)sn_regreq_can_serve(&r);
		}
		sn_regreq_cleanup(&r);
	}
	char *dec = NULL;
	size_t declen = 0;
	if (sn_base64_decode(body, len, &dec, &declen) == 0) {
		if (declen > len)
			__builtin_trap();
		free(dec);
	}
	return 0;
}
