/* peerapi: the legacy peer API of protocol.md on the API port: /peer/registry (register.c),
 * /peer/task (pull.c), and the reports /peer/piece/suc, /peer/service/down,
 * /peer/piece/error and /task/metrics (peerapi.c). Handlers run on the API daemon's
 * threads; they take the registry lock and one task lock briefly, and park requests that
 * must wait (waitq.h) instead of blocking a thread.
 */
#ifndef SN_PEERAPI_H
#define SN_PEERAPI_H

#include <microhttpd.h>
#include <stdint.h>

#include "httpd.h"

struct sn_ctx;
struct sn_task;

enum MHD_Result sn_peerapi_register(struct sn_ctx *ctx, struct MHD_Connection *con,
				    struct df_httpd_request *req);
enum MHD_Result sn_peerapi_pull(struct sn_ctx *ctx, struct MHD_Connection *con,
				struct df_httpd_request *req);
enum MHD_Result sn_peerapi_piece_suc(struct sn_ctx *ctx, struct MHD_Connection *con);
enum MHD_Result sn_peerapi_service_down(struct sn_ctx *ctx, struct MHD_Connection *con);
enum MHD_Result sn_peerapi_piece_error(struct sn_ctx *ctx, struct MHD_Connection *con);
enum MHD_Result sn_peerapi_task_metrics(struct sn_ctx *ctx, struct MHD_Connection *con,
					struct df_httpd_request *req);

/* Helpers shared by the handlers. */

/* {"code":code,"msg":msg} with HTTP 200: the protocol's status travels in "code". */
enum MHD_Result sn_reply_code(struct MHD_Connection *con, int code, const char *msg);
/* An error of a report endpoint: HTTP status with {"code":code,"message":msg}. Counts
 * 4xx as bad requests. */
enum MHD_Result sn_reply_error(struct MHD_Connection *con, unsigned status, int code,
			       const char *msg);
/* Add the change of t's supernode load since `before` to the supernode-wide count (task
 * lock held). */
void sn_sync_load_locked(struct sn_ctx *ctx, struct sn_task *t, int before);
/* The client index a dstCid names in t: SN_SRC_CDN for the supernode ("cdnnode:..."), a
 * client's index, or SN_NO_SRC (lock held). */
int32_t sn_resolve_src_locked(struct sn_task *t, const char *dst_cid);
/* The local address con reached us at (for the supernode's own pieces). */
void sn_local_ip(struct MHD_Connection *con, char *buf, size_t bufsz);

#endif
