/* The supernode API as dfget uses it (protocol.md "Supernode API"): register, pull piece
 * tasks, report pieces, report bad pieces, service down, metrics, ping. Bodies are built
 * and parsed by pure functions (unit-tested); the calls run on the caller's easy handle,
 * so each thread uses its own. Thread-safe as long as handles are not shared. */
#ifndef DG_SNAPI_H
#define DG_SNAPI_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dg_reg_request {
	const char *raw_url;
	const char *task_url;
	const char *cid;
	const char *ip;
	const char *host_name;
	int port; /* uploader port, 0 = none (cdn pattern) */
	const char *path; /* "/peer/file/<taskFileName>" */
	const char *version;
	const char *md5;
	const char *identifier;
	const char *callsystem;
	const char *const *headers; /* "K: V", NULL-terminated, or NULL */
	bool dfdaemon;
	bool insecure;
	const char *root_cas_b64; /* base64 of the PEM text, or NULL */
	const char *pattern;
	const char *supernode_ip;
};

struct dg_reg_reply {
	int code;
	char msg[512];
	char task_id[65];
	int64_t file_length; /* -1: unknown */
	int32_t piece_size;
};

/* JSON body of a registration (the caller's string). */
char *dg_reg_body(const struct dg_reg_request *rq);
/* Parse a registration reply body. Returns 0 (code in rp->code) or -EPROTO. */
int dg_reg_reply_parse(const char *body, struct dg_reg_reply *rp, char *err, size_t errsz);

struct dg_piece_task {
	char range[48];
	int64_t num;
	int32_t piece_size;
	char md5[33];	    /* md5 of the framed piece, "" when none was given */
	int64_t framed_len; /* from "md5:len", -1 when not given */
	char *cid;	    /* the source peer's cid (heap) */
	char *peer_ip;	    /* (heap) */
	int peer_port;
	char *path;	    /* (heap) */
	bool from_supernode; /* cid is "cdnnode:..." */
};

void dg_piece_task_copy(struct dg_piece_task *dst, const struct dg_piece_task *src);
void dg_piece_task_cleanup(struct dg_piece_task *t);

struct dg_pull_reply {
	int code;
	char msg[256];
	struct dg_piece_task *tasks; /* code 601 */
	size_t ntasks;
	char md5[33];		     /* code 600: whole-file md5, "" if none */
	int64_t framed_length;	     /* code 600, -1 if none */
};

int dg_pull_reply_parse(const char *body, struct dg_pull_reply *rp, char *err, size_t errsz);
void dg_pull_reply_cleanup(struct dg_pull_reply *rp);

struct dg_pull_request {
	const char *task_id;
	const char *src_cid;
	const char *dst_cid; /* "" */
	const char *range;   /* "" */
	int result;
	int status;
};

/* "http://<hostport>/peer/task?..." (the caller's string). */
char *dg_pull_url(const char *hostport, const struct dg_pull_request *rq);

/* Calls. Return 0 when the supernode answered with a protocol reply (see the code in the
 * reply), or -errno for transport failures and answers that are not the protocol's, with the
 * reason in err. */
int dg_sn_register(CURL *h, const char *hostport, const struct dg_reg_request *rq,
		   long timeout_ms, struct dg_reg_reply *rp, char *err, size_t errsz);
int dg_sn_pull(CURL *h, const char *hostport, const struct dg_pull_request *rq,
	       long timeout_ms, struct dg_pull_reply *rp, char *err, size_t errsz);
/* /peer/piece/suc: 0 when the reply was 611. */
int dg_sn_piece_suc(CURL *h, const char *hostport, const char *task_id, const char *cid,
		    const char *dst_cid, const char *range, char *err, size_t errsz);
/* /peer/piece/error; error_type FILE_NOT_EXIST or FILE_MD5_NOT_MATCH. */
int dg_sn_piece_error(CURL *h, const char *hostport, const char *task_id, const char *range,
		      const char *src_cid, const char *dst_cid, const char *dst_ip,
		      const char *real_md5, const char *expected_md5, const char *error_type,
		      char *err, size_t errsz);
int dg_sn_service_down(CURL *h, const char *hostport, const char *task_id, const char *cid,
		       char *err, size_t errsz);

struct dg_metrics {
	const char *ip;
	int port;
	const char *task_id;
	const char *cid;
	const char *callsystem;
	double duration_s;
	bool success;
	int backsource_reason;
	int64_t file_length;
};
int dg_sn_metrics(CURL *h, const char *hostport, const struct dg_metrics *m, char *err,
		  size_t errsz);

/* GET /_ping; on success ip_r gets the local address the connection used (how peers on
 * that network reach this host). */
int dg_sn_ping(CURL *h, const char *hostport, long timeout_ms, char *ip_r, size_t ipsz,
	       char *err, size_t errsz);

#endif
