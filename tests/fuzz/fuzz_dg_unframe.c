/* libFuzzer: the framed piece bytes a peer (or the supernode's piece server) sends dfget,
 * through the streaming unframer (src/dfget/fetch.h) in arbitrary chunk sizes: the content
 * handed to the sink must be the bytes between header and trailer, in order, within the
 * piece, and a piece is whole only when header, length and trailer all check out.
 * Input: the piece size in MiB (byte % 15 + 1), the expected content length (0: unknown,
 * else byte * 131 % 8192), a chunking seed, then the bytes as received.
 * fuzz-libs: dfget
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "dfget/fetch.h"
#include "piece.h"

struct sink {
	int64_t next; /* the offset the next content byte must have */
	int64_t max;
};

static int sink(void *arg, const unsigned char *p, size_t n, int64_t off)
{
	struct sink *s = arg;
	(void)p;
	if (off != s->next || off < 0 || off + (int64_t)n > s->max)
		__builtin_trap();
	s->next += (int64_t)n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3 || size > 65536)
		return 0;
	/* piece sizes are whole MiB; small contents (the last piece) fit in an input */
	int32_t ps = (int32_t)(1 + data[0] % 15) << 20;
	int64_t expect = data[1] == 0 ? -1 : (int64_t)((data[1] * 131u) % 8192u);
	unsigned seed = data[2];
	data += 3;
	size -= 3;
	struct dg_unframe u;
	dg_unframe_init(&u, ps, expect);
	struct sink s = { 0, ps - DF_PIECE_META_LEN };
	int rc = 0;
	size_t off = 0;
	while (off < size && rc == 0) {
		size_t n = 1 + (seed = seed * 1103515245u + 12345u) % 977u;
		if (n > size - off)
			n = size - off;
		rc = dg_unframe_feed(&u, data + off, n, sink, &s);
		off += n;
	}
	if (rc == 0 && dg_unframe_finish(&u) == 0) {
		/* whole: a header, content_len bytes, the trailer, nothing more */
		if (s.next != (int64_t)u.content_len || size != u.content_len + DF_PIECE_META_LEN ||
		    data[size - 1] != DF_PIECE_TRAILER || (expect >= 0 && s.next != expect))
			__builtin_trap();
	}
	return 0;
}
