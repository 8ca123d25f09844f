/* pieces: the piece server (port 8001): GET /download/<id[0:3]>/<id> with a Range answers
 * 206 with those bytes of the framed cache file, sent by sendfile from the file
 * (MHD_create_response_from_fd_at_offset64), and only when every piece the range touches
 * is complete on disk (404 otherwise: not cached yet). 400 for a missing or malformed
 * Range, 404 for any other path or an unknown task, 416 beyond the end, 405 for methods
 * other than GET and HEAD. The path must be exactly /download/<3 hex>/<64 hex>, so no
 * other file can be named.
 *
 * Runs on the piece daemon's threads; takes the task lock only to read its state.
 */
#ifndef SN_PIECES_H
#define SN_PIECES_H

#include <microhttpd.h>
#include <stdbool.h>

/* The MHD access handler; cls is the struct sn_ctx. */
enum MHD_Result sn_pieces_handler(void *cls, struct MHD_Connection *con, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls);

/* Parse a piece path: true with the task id in id_r for /download/<id[0:3]>/<id>. Pure. */
bool sn_pieces_parse_path(const char *url, char id_r[65]);

#endif
