/* Piece geometry and framing (protocol.md "Piece geometry and framing").
 *
 * A source of srclen bytes is cut into pieces of piece_size framed bytes each: a 4-byte
 * big-endian header, piece_size - 5 content bytes (fewer in the last piece), a 0x7f trailer.
 * Piece n covers framed bytes [n * piece_size, n * piece_size + piece_size - 1] and content
 * bytes from n * (piece_size - 5). Pure functions, thread-safe. */
#ifndef DF_PIECE_H
#define DF_PIECE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DF_PIECE_HEAD_LEN 4
#define DF_PIECE_TAIL_LEN 1
#define DF_PIECE_META_LEN 5
#define DF_PIECE_TRAILER 0x7f
#define DF_MIB (1024 * 1024)
#define DF_PIECE_SIZE_DEFAULT (4 * DF_MIB)
#define DF_PIECE_SIZE_MAX (15 * DF_MIB)

/* The framed piece size for a source of srclen bytes (< 0: unknown). */
int32_t df_piece_size_for(int64_t srclen);
/* Content bytes per full piece. */
static inline int32_t df_piece_content_max(int32_t piece_size)
{
	return piece_size - DF_PIECE_META_LEN;
}
/* ceil(srclen / content); an empty source is one piece. */
int64_t df_piece_count(int64_t srclen, int32_t piece_size);
int64_t df_piece_framed_len(int64_t srclen, int32_t piece_size);
/* Content bytes in piece n (0 when n is out of range). */
int32_t df_piece_content_len(int64_t srclen, int32_t piece_size, int64_t n);
/* Offset of piece n's content in the source file. */
static inline int64_t df_piece_content_offset(int32_t piece_size, int64_t n)
{
	return n * (int64_t)df_piece_content_max(piece_size);
}

uint32_t df_piece_header_value(uint32_t content_len, int32_t piece_size);
void df_piece_header_encode(uint32_t content_len, int32_t piece_size, unsigned char out[4]);
/* Split a header; false when it is impossible (content longer than the piece, size not a
 * whole number of MiB, or beyond the 15 MiB maximum). */
bool df_piece_header_decode(const unsigned char in[4], uint32_t *content_len_r,
			    int32_t *piece_size_r);

/* "a-b" for piece n: its nominal framed range. Returns buf. */
char *df_piece_range_format(int64_t n, int32_t piece_size, char *buf, size_t bufsz);
/* Parse "a-b" (decimal, a <= b). Returns 0 or -EINVAL. */
int df_range_parse(const char *s, int64_t *start_r, int64_t *end_r);
/* The piece number of a nominal range "a-b", or -1 when it is not piece-aligned. */
int64_t df_piece_num_of_range(const char *range, int32_t piece_size);

/* An HTTP Range header ("bytes=a-b", "bytes=a-", "bytes=-n"; one range only) against a
 * resource of total bytes. Returns 0 with the inclusive [start, end] clamped to the end,
 * -EINVAL for a malformed header (answer 400), -ERANGE when it starts beyond the end
 * (answer 416). */
int df_http_range_parse(const char *header, int64_t total, int64_t *start_r, int64_t *end_r);

#endif
