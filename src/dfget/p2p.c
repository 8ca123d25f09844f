/* Registration, pull loop and supernode failover of one download (see p2p.h). Runs on the
 * calling thread; the swarm's threads do the piece work. No locks here. */
#include "config.h"
#include "p2p.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "fsutil.h"
#include "locator.h"
#include "log.h"
#include "piece.h"
#include "protocol.h"
#include "snapi.h"
#include "swarm.h"
#include "timeutil.h"
#include "xalloc.h"

#define TICK_US 100000
/* A supernode answers a pull at once or after its pull hold (1 s by default): one that
 * takes this long hangs, and the download moves to the next supernode. */
#define PULL_TIMEOUT_MS 10000

enum session_rc {
	S_DONE,
	S_NODE_FAILED, /* try the next supernode */
	S_FATAL,       /* stop; p->status says how */
};

struct pend {
	char range[48];
	char *dst;
	int result;
};

struct p2p {
	struct dg_job *job;
	struct dg_swarm *sw;
	int data_fd;
	bool started;
	int32_t piece_size;
	enum dg_p2p_status status;
	struct pend *pend; /* results to report with the next pulls */
	size_t npend;
	/* the next pull */
	int rq_status, rq_result;
	char rq_range[48];
	char *rq_dst;
};

static void set_rq(struct p2p *p, int status, int result, const char *range, const char *dst)
{
	p->rq_status = status;
	p->rq_result = result;
	snprintf(p->rq_range, sizeof(p->rq_range), "%s", range ? range : "");
	free(p->rq_dst);
	p->rq_dst = xstrdup(dst ? dst : "");
}

static void add_pend(struct p2p *p, const char *range, const char *dst, int result)
{
	p->pend = xrealloc(p->pend, (p->npend + 1) * sizeof(*p->pend));
	struct pend *e = &p->pend[p->npend++];
	snprintf(e->range, sizeof(e->range), "%s", range);
	e->dst = xstrdup(dst ? dst : "");
	e->result = result;
}

static bool pop_pend(struct p2p *p)
{
	if (p->npend == 0)
		return false;
	struct pend e = p->pend[0];
	memmove(p->pend, p->pend + 1, (p->npend - 1) * sizeof(*p->pend));
	p->npend--;
	set_rq(p, DF_STATUS_RUNNING, e.result, e.range, e.dst);
	free(e.dst);
	return true;
}

static void clear_pend(struct p2p *p)
{
	for (size_t i = 0; i < p->npend; i++)
		free(p->pend[i].dst);
	p->npend = 0;
}

static long remaining_ms(const struct dg_job *job, long cap)
{
	int64_t left = (job->deadline_us - df_mono_us()) / 1000;
	if (left < 1)
		left = 1;
	return left < cap ? (long)left : cap;
}

static char *base64(const unsigned char *in, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < len ? tab[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? tab[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* The first --cacerts file, base64, for the supernode's source fetch (NULL: none). */
static char *root_cas(const struct dg_request *req)
{
	if (!req->cacerts)
		return NULL;
	size_t n = strcspn(req->cacerts, ",");
	char *path = xstrndup(req->cacerts, n);
	char *pem = NULL, *b64 = NULL;
	size_t len = 0;
	if (df_read_file(path, 1 << 20, &pem, &len) == 0)
		b64 = base64((const unsigned char *)pem, len);
	else
		log_warn("cannot read --cacerts file %s: the supernode gets no CA", path);
	free(pem);
	free(path);
	return b64;
}

static int do_register(struct p2p *p, const struct dg_node *node, struct dg_reg_reply *rp,
		       char *err, size_t errsz)
{
	struct dg_job *job = p->job;
	const struct dg_request *req = job->req;
	char host[256] = "", path[300];
	gethostname(host, sizeof(host) - 1);
	snprintf(path, sizeof(path), "/peer/file/%s", job->tfn);
	char *cas = root_cas(req);
	struct dg_reg_request rq = {
		.raw_url = req->url,
		.task_url = job->task_url,
		.cid = job->cid,
		.ip = job->ip,
		.host_name = host,
		.port = job->up_port,
		.path = path,
		.version = PACKAGE_VERSION,
		.md5 = req->md5,
		.identifier = req->identifier,
		.callsystem = req->callsystem,
		.headers = req->headers,
		.dfdaemon = req->dfdaemon,
		.insecure = req->insecure,
		.root_cas_b64 = cas,
		.pattern = job->up_port ? "p2p" : "cdn",
		.supernode_ip = node->host,
	};
	int rc = dg_sn_register(job->ctl, node->hostport, &rq, remaining_ms(job, 30000), rp, err,
				errsz);
	free(cas);
	return rc;
}

/* First registration: geometry, free space, data file size, threads. */
static enum session_rc first_register(struct p2p *p, const struct dg_reg_reply *rp, char *err,
				      size_t errsz)
{
	struct dg_job *job = p->job;
	p->piece_size = rp->piece_size;
	if (rp->file_length >= 0) {
		int rc = dg_job_set_length(job, rp->file_length, job->home.data, err, errsz);
		if (rc == 0 && ftruncate(p->data_fd, (off_t)rp->file_length) < 0) {
			rc = -errno;
			snprintf(err, errsz, "cannot size %s: %s", job->data_path, strerror(errno));
		}
		if (rc < 0) {
			p->status = DG_P2P_PREPARE;
			return S_FATAL;
		}
	}
	if (dg_swarm_start(p->sw, rp->piece_size, rp->file_length, job->req->workers,
			   job->sha256_want[0] != '\0') < 0) {
		snprintf(err, errsz, "cannot start the download threads");
		p->status = DG_P2P_PREPARE;
		return S_FATAL;
	}
	p->started = true;
	return S_DONE;
}

static enum session_rc registration(struct p2p *p, const struct dg_node *node, char *err,
				    size_t errsz)
{
	struct dg_job *job = p->job;
	struct dg_reg_reply rp;
	int rc = do_register(p, node, &rp, err, errsz);
	if (rc < 0)
		return S_NODE_FAILED;
	if (rp.code == DF_CODE_NEED_AUTH || rp.code == DF_CODE_WAIT_AUTH) {
		snprintf(err, errsz,
			 "the source needs credentials (supernode %s: %d %s): pass them with "
			 "--header 'Authorization: ...'",
			 node->hostport, rp.code, rp.msg);
		p->status = DG_P2P_AUTH;
		return S_FATAL;
	}
	if (rp.code != DF_CODE_SUCCESS) {
		snprintf(err, errsz, "supernode %s refused the registration: %d %s",
			 node->hostport, rp.code, rp.msg);
		return S_NODE_FAILED;
	}
	log_info("registered with %s: task %s, length %" PRId64 ", piece size %" PRId32,
		 node->hostport, rp.task_id, rp.file_length, rp.piece_size);
	if (!p->started) {
		enum session_rc s = first_register(p, &rp, err, errsz);
		if (s != S_DONE)
			return s;
	} else if (rp.piece_size != p->piece_size) {
		snprintf(err, errsz, "supernode %s cuts the file in pieces of %" PRId32
			 ", not %" PRId32 " as before", node->hostport, rp.piece_size,
			 p->piece_size);
		p->status = DG_P2P_FAILED;
		return S_FATAL;
	}
	snprintf(job->task_id, sizeof(job->task_id), "%s", rp.task_id);
	snprintf(job->node, sizeof(job->node), "%s", node->hostport);
	if (rp.file_length >= 0)
		job->total = rp.file_length;
	dg_swarm_set_node(p->sw, node->hostport, rp.task_id);
	set_rq(p, DF_STATUS_START, DF_RESULT_INVALID, "", "");
	return S_DONE;
}

/* A piece failed: tell the supernode what was wrong with its source. */
static void report_bad_piece(struct p2p *p, const struct dg_swarm_result *r)
{
	struct dg_job *job = p->job;
	const char *type = r->error == DG_FETCH_MD5	  ? "FILE_MD5_NOT_MATCH"
			   : r->error == DG_FETCH_NOT_EXIST ? "FILE_NOT_EXIST"
							    : NULL;
	if (!type)
		return;
	char err[256];
	if (dg_sn_piece_error(job->ctl, job->node, job->task_id, r->task.range, job->cid,
			      r->task.cid, r->task.peer_ip, r->real_md5, r->task.md5, type, err,
			      sizeof(err)) < 0)
		log_debug("piece error report failed: %s", err);
}

static bool expired(struct p2p *p, char *err, size_t errsz)
{
	struct dg_job *job = p->job;
	if (!dg_job_tick(job, false))
		return false;
	if (job->cancelled) {
		snprintf(err, errsz, "cancelled");
		p->status = DG_P2P_CANCELLED;
	} else {
		snprintf(err, errsz, "P2P download timed out after %.1f s",
			 (double)(df_mono_us() - job->t0_us) / 1e6);
		p->status = DG_P2P_FAILED;
	}
	return true;
}

/* Wait for what decides the next pull: a result to report, or (with nothing left to do)
 * the back-off of a quick 602. Returns S_DONE when the next pull is set, S_FATAL on
 * deadline, cancel or a piece that keeps failing. */
static enum session_rc wait_next(struct p2p *p, int64_t backoff_us, char *err, size_t errsz)
{
	int64_t idle_since = -1;
	for (;;) {
		if (pop_pend(p))
			return S_DONE;
		if (expired(p, err, errsz))
			return S_FATAL;
		struct dg_swarm_result r;
		enum dg_swarm_event ev = dg_swarm_wait(p->sw, TICK_US, &r);
		if (ev == DG_SWARM_RESULT) {
			if (!r.ok && r.error == DG_FETCH_STOPPED) {
				dg_swarm_result_cleanup(&r);
				continue;
			}
			if (!r.ok && r.error == DG_FETCH_LOCAL) {
				/* Our own disk failed: no source is to blame (a report would get
				 * a healthy peer isolated), and the source would fail the same. */
				snprintf(err, errsz, "%s (%s)", r.why, p->job->data_path);
				dg_swarm_result_cleanup(&r);
				p->status = DG_P2P_PREPARE;
				return S_FATAL;
			}
			if (!r.ok) {
				report_bad_piece(p, &r);
				if (r.fails >= DG_MAX_PIECE_FAILS) {
					snprintf(err, errsz, "piece %" PRId64 " failed %d times; last: %s",
						 r.task.num, r.fails, r.why);
					dg_swarm_result_cleanup(&r);
					p->status = DG_P2P_FAILED;
					return S_FATAL;
				}
			}
			set_rq(p, DF_STATUS_RUNNING, r.ok ? DF_RESULT_SEMISUC : DF_RESULT_FAILED,
			       r.task.range, r.task.cid);
			dg_swarm_result_cleanup(&r);
			return S_DONE;
		}
		if (ev == DG_SWARM_IDLE) {
			int64_t now = df_mono_us();
			if (idle_since < 0)
				idle_since = now;
			if (now - idle_since >= backoff_us)
				return S_DONE; /* ask again with the same request */
			int64_t left = backoff_us - (now - idle_since);
			df_sleep_us(left < 20000 ? left : 20000);
		}
	}
}

static bool md5_differs(const char *want, const char *got)
{
	return want && want[0] && strcasecmp(want, got) != 0;
}

/* 600: every piece here, the whole file's digests match. */
static enum session_rc finish(struct p2p *p, const struct dg_pull_reply *rp, char *err,
			      size_t errsz)
{
	struct dg_job *job = p->job;
	struct dg_swarm_result r;
	enum dg_swarm_event ev;
	while ((ev = dg_swarm_wait(p->sw, TICK_US, &r)) != DG_SWARM_IDLE) {
		if (ev == DG_SWARM_RESULT)
			dg_swarm_result_cleanup(&r);
		if (expired(p, err, errsz))
			return S_FATAL;
	}
	int64_t length = -1;
	p->status = DG_P2P_FAILED;
	if (dg_swarm_complete(p->sw, rp->framed_length, &length, err, errsz) < 0)
		return S_FATAL;
	job->total = length;
	log_debug("all %" PRId64 " bytes in; waiting for the whole-file digest", length);
	char md5[33], sha[65];
	int rc;
	while ((rc = dg_swarm_digests(p->sw, TICK_US, md5, sha)) == -ETIMEDOUT) {
		if (expired(p, err, errsz))
			return S_FATAL;
	}
	if (rc < 0) {
		snprintf(err, errsz, "cannot read back %s to verify it", job->data_path);
		return S_FATAL;
	}
	log_debug("whole-file md5 %s", md5);
	if (md5_differs(rp->md5, md5) || md5_differs(job->req->md5, md5)) {
		snprintf(err, errsz, "the file's md5 is %s, expected %s", md5,
			 md5_differs(job->req->md5, md5) ? job->req->md5 : rp->md5);
		return S_FATAL;
	}
	if (job->sha256_want[0] && strcmp(job->sha256_want, sha) != 0) {
		snprintf(err, errsz, "the file's sha256 is %s, the URL names %s", sha,
			 job->sha256_want);
		return S_FATAL;
	}
	memcpy(job->md5, md5, sizeof(job->md5));
	p->status = DG_P2P_DONE;
	return S_DONE;
}

/* Tell the supernode we are done with the task (702), good or bad. Best effort. */
static void send_final(struct p2p *p, bool ok)
{
	struct dg_job *job = p->job;
	if (!job->task_id[0])
		return;
	struct dg_pull_request rq = { job->task_id, job->cid, "", "",
				      ok ? DF_RESULT_SUCCESS : DF_RESULT_FAILED,
				      DF_STATUS_FINISH };
	struct dg_pull_reply rp;
	char err[256];
	if (dg_sn_pull(job->ctl, job->node, &rq, 3000, &rp, err, sizeof(err)) == 0)
		dg_pull_reply_cleanup(&rp);
}

/* Offer a 601's tasks; pieces we hold are reported good at once. Returns the number of
 * pieces that made progress possible (new work or reports), or -EPROTO. */
static int offer(struct p2p *p, const struct dg_pull_reply *rp, char *err, size_t errsz)
{
	struct dg_job *job = p->job;
	struct dg_piece_task *already = NULL;
	size_t nalready = 0, queued = 0;
	int rc = dg_swarm_offer(p->sw, rp->tasks, rp->ntasks, &already, &nalready, &queued, err,
				errsz);
	for (size_t i = 0; i < nalready; i++) {
		char e[256];
		if (dg_sn_piece_suc(job->ctl, job->node, job->task_id, job->cid, already[i].cid,
				    already[i].range, e, sizeof(e)) < 0)
			log_debug("report of held piece %s failed: %s", already[i].range, e);
		add_pend(p, already[i].range, already[i].cid, DF_RESULT_SEMISUC);
		dg_piece_task_cleanup(&already[i]);
	}
	free(already);
	return rc < 0 ? rc : (int)(queued + nalready);
}

/* What the pull loop carries from one reply to the next. */
struct loop_state {
	int transport_fails;
	int reregs;
	int64_t backoff_us;
};

/* Act on one reply (not 600). S_DONE: go on with the next pull. */
static enum session_rc on_reply(struct p2p *p, const struct dg_node *node,
				struct dg_pull_reply *rp, int64_t t0, struct loop_state *ls,
				char *err, size_t errsz)
{
	int rc;
	switch (rp->code) {
	case DF_CODE_PEER_CONTINUE:
		rc = offer(p, rp, err, errsz);
		if (rc < 0)
			return S_NODE_FAILED;
		/* nothing new in it: pause like after a quick 602 */
		ls->backoff_us = rc > 0 ? 0 : ls->backoff_us ? ls->backoff_us * 2 : 20000;
		break;
	case DF_CODE_PEER_WAIT:
		/* The supernode holds a pull up to ~1 s itself; one that answers at once gets
		 * a short, growing pause. */
		if (df_mono_us() - t0 < 100000)
			ls->backoff_us = ls->backoff_us ? ls->backoff_us * 2 : 20000;
		else
			ls->backoff_us = 0;
		break;
	case DF_CODE_TARGET_NOT_FOUND:
		if (ls->reregs++ >= 2) {
			snprintf(err, errsz, "supernode %s keeps forgetting the task", node->hostport);
			return S_NODE_FAILED;
		}
		log_warn("supernode %s does not know the task any more: registering again",
			 node->hostport);
		clear_pend(p);
		return registration(p, node, err, errsz);
	default:
		snprintf(err, errsz, "supernode %s answered %d %s", node->hostport, rp->code,
			 rp->msg);
		return S_NODE_FAILED;
	}
	if (ls->backoff_us > 500000)
		ls->backoff_us = 500000;
	return wait_next(p, ls->backoff_us, err, errsz);
}

static enum session_rc pull_loop(struct p2p *p, const struct dg_node *node, char *err,
				 size_t errsz)
{
	struct dg_job *job = p->job;
	struct loop_state ls = { 0, 0, 0 };
	for (;;) {
		if (expired(p, err, errsz))
			return S_FATAL;
		struct dg_pull_request rq = { job->task_id, job->cid, p->rq_dst, p->rq_range,
					      p->rq_result, p->rq_status };
		struct dg_pull_reply rp;
		int64_t t0 = df_mono_us();
		int prc = dg_sn_pull(job->ctl, node->hostport, &rq,
				     remaining_ms(job, PULL_TIMEOUT_MS), &rp, err, errsz);
		if (prc < 0) {
			/* A pull that timed out means a hung supernode (stopped, overloaded):
			 * asking it twice more would only double the wait. Refused or reset
			 * connections get two quick retries. */
			if (prc == -ETIMEDOUT || ++ls.transport_fails > 2)
				return S_NODE_FAILED;
			log_warn("pull from %s failed (%s); retrying", node->hostport, err);
			df_sleep_ms(100 * ls.transport_fails);
			continue;
		}
		ls.transport_fails = 0;
		enum session_rc s;
		if (rp.code == DF_CODE_PEER_FINISH) {
			s = finish(p, &rp, err, errsz);
			send_final(p, s == S_DONE);
			dg_pull_reply_cleanup(&rp);
			return s == S_DONE ? S_DONE : S_FATAL;
		}
		s = on_reply(p, node, &rp, t0, &ls, err, errsz);
		dg_pull_reply_cleanup(&rp);
		if (s == S_FATAL)
			send_final(p, false);
		if (s != S_DONE)
			return s;
	}
}

static int learn_ip(struct dg_job *job, const struct dg_node *node, char *err, size_t errsz)
{
	if (job->ip[0])
		return 0;
	int rc = dg_sn_ping(job->ctl, node->hostport, remaining_ms(job, 3000), job->ip,
			    sizeof(job->ip), err, errsz);
	if (rc == 0)
		snprintf(job->cid, sizeof(job->cid), "%s-%s", job->ip, job->sign);
	return rc;
}

static enum session_rc session(struct p2p *p, const struct dg_node *node, char *err,
			       size_t errsz)
{
	if (learn_ip(p->job, node, err, errsz) < 0)
		return S_NODE_FAILED;
	enum session_rc s = registration(p, node, err, errsz);
	if (s != S_DONE)
		return s;
	return pull_loop(p, node, err, errsz);
}

/* Random numbers for the supernode order. Every download must draw its own: random()
 * unseeded gives every dfget process the same sequence, so with equal weights the whole
 * fleet went to the same supernode first. */
static uint64_t node_rnd(void *arg)
{
	uint64_t r;
	(void)arg;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		return r;
	return (uint64_t)df_mono_us() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid() << 32;
}

enum dg_p2p_status dg_p2p_run(struct dg_job *job, int data_fd, int map_fd, char *err,
			      size_t errsz)
{
	struct dg_locator *loc = NULL;
	struct p2p p;
	memset(&p, 0, sizeof(p));
	p.job = job;
	p.data_fd = data_fd;
	p.status = DG_P2P_FAILED;
	if (job->req->ip) {
		snprintf(job->ip, sizeof(job->ip), "%s", job->req->ip);
		snprintf(job->cid, sizeof(job->cid), "%s-%s", job->ip, job->sign);
	}
	if (dg_locator_parse(job->req->nodes, &loc, err, errsz) < 0)
		return DG_P2P_FAILED;
	dg_locator_shuffle(loc, node_rnd, NULL);
	p.sw = dg_swarm_new(job, data_fd, map_fd);
	char last[512] = "";
	for (const struct dg_node *node = dg_locator_current(loc); node;
	     node = dg_locator_next(loc)) {
		enum session_rc s = session(&p, node, err, errsz);
		if (s == S_DONE || s == S_FATAL)
			break;
		log_warn("supernode %s failed: %s", node->hostport, err);
		snprintf(last, sizeof(last), "%s", err);
		clear_pend(&p);
		dg_swarm_drain(p.sw, 30 * 1000000LL);
		if (dg_locator_current(loc) && dg_locator_count(loc) > 1)
			log_info("moving the download to the next supernode");
		if (expired(&p, err, errsz))
			break;
		snprintf(err, errsz, "no supernode could serve the download; last: %s", last);
	}
	dg_swarm_free(p.sw);
	clear_pend(&p);
	free(p.pend);
	free(p.rq_dst);
	dg_locator_free(loc);
	return p.status;
}
