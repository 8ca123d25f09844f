/* dg_download(): one download from start to finish (see download.h). Everything here runs
 * on the calling thread; the job it builds is private to this call, so concurrent calls
 * share nothing but the host's uploader (a separate process). */
#include "config.h"
#include "download.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "backsource.h"
#include "fsutil.h"
#include "httpc.h"
#include "job.h"
#include "log.h"
#include "output.h"
#include "p2p.h"
#include "protocol.h"
#include "snapi.h"
#include "taskid.h"
#include "timeutil.h"
#include "units.h"
#include "uplink.h"
#include "xalloc.h"

#define DEFAULT_TIMEOUT_MS (5 * 60 * 1000LL)
#define SPACE_RESERVE (16LL << 20)

/* Reasons sent to the supernode's metrics, as the original numbers them. */
enum { BS_NONE = 0, BS_USER = 1, BS_REGISTER = 3, BS_DOWNLOAD = 4 };

bool dg_pattern_parse(const char *s, enum dg_pattern *p_r)
{
	static const char *const names[] = { "p2p", "cdn", "source" };
	for (int i = 0; s && i < 3; i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*p_r = (enum dg_pattern)i;
			return true;
		}
	}
	return false;
}

const char *dg_pattern_name(enum dg_pattern p)
{
	return p == DG_PATTERN_CDN ? "cdn" : p == DG_PATTERN_SOURCE ? "source" : "p2p";
}

void dg_request_init(struct dg_request *req)
{
	memset(req, 0, sizeof(*req));
	req->pattern = DG_PATTERN_P2P;
	req->nodes = "127.0.0.1:8002";
	req->local_limit = 20LL << 20;
	req->min_rate = 64LL << 10;
	req->home = "~/.small-dragonfly";
	req->alive_ms = 5 * 60 * 1000;
	req->expire_ms = 3 * 60 * 1000;
}

bool dg_job_tick(struct dg_job *job, bool force)
{
	int64_t now = df_mono_us();
	if (now > job->deadline_us)
		atomic_store(&job->stop, true);
	if (job->cancelled || atomic_load(&job->stop))
		return true;
	if (!job->req->progress || (!force && now - job->last_progress_us < 100000))
		return false;
	job->last_progress_us = now;
	struct dg_progress p = {
		.total = job->total,
		.done = atomic_load(&job->done),
		.in_order = atomic_load(&job->in_order),
		.from_peers = atomic_load(&job->from_peers),
		.from_supernode = atomic_load(&job->from_supernode),
		.from_source = atomic_load(&job->from_source),
		.elapsed_us = now - job->t0_us,
		.data_path = job->cur_path,
		.back_source = job->back_source,
	};
	if (job->req->progress(&p, job->req->progress_arg) != 0) {
		job->cancelled = true;
		atomic_store(&job->stop, true);
		return true;
	}
	return false;
}

static void set_deadline(struct dg_job *job, int64_t length)
{
	int64_t ms = job->req->timeout_ms;
	if (ms <= 0) {
		int64_t rate = job->req->min_rate > 0 ? job->req->min_rate : 64 << 10;
		ms = length >= 0 ? length / rate * 1000 + 10000 : DEFAULT_TIMEOUT_MS;
	}
	job->deadline_us = df_mono_us() + ms * 1000;
}

static int space_for(const char *path, int64_t need, char *err, size_t errsz)
{
	char *dir = df_dirname(path);
	int64_t avail = 0;
	int rc = df_free_space(dir, &avail);
	if (rc == 0 && avail < need + SPACE_RESERVE) {
		char a[32], n[32];
		df_size_format(avail, a, sizeof(a));
		df_size_format(need, n, sizeof(n));
		snprintf(err, errsz, "not enough free space in %s: the file needs %s, %s are free",
			 dir, n, a);
		rc = -ENOSPC;
	}
	free(dir);
	return rc == -ENOSPC ? rc : 0;
}

int dg_job_set_length(struct dg_job *job, int64_t length, const char *data_dir, char *err,
		      size_t errsz)
{
	set_deadline(job, length);
	int rc = 0;
	if (data_dir)
		rc = space_for(job->data_path, length, err, errsz);
	if (rc == 0 && (!data_dir || !dg_same_fs(job->data_path, job->req->output)))
		rc = space_for(job->req->output, length, err, errsz);
	return rc;
}

static int check_request(const struct dg_request *req, char *err, size_t errsz)
{
	if (!req->url || !df_url_valid(req->url)) {
		snprintf(err, errsz, "'%s' is not a valid http:// or https:// URL",
			 req->url ? req->url : "");
		return -EINVAL;
	}
	if (!req->output || !*req->output) {
		snprintf(err, errsz, "no output path given");
		return -EINVAL;
	}
	if (req->sha256) {
		bool ok = strlen(req->sha256) == 64;
		for (size_t i = 0; ok && i < 64; i++)
			ok = isxdigit((unsigned char)req->sha256[i]) != 0;
		if (!ok) {
			snprintf(err, errsz, "expected sha256 '%s' is not 64 hex digits",
				 req->sha256);
			return -EINVAL;
		}
	}
	return 0;
}

static int job_init(struct dg_job *job, const struct dg_request *req, char *err, size_t errsz)
{
	memset(job, 0, sizeof(*job));
	job->req = req;
	job->t0_us = df_mono_us();
	job->total = -1;
	set_deadline(job, -1);
	dg_make_sign(job->sign, sizeof(job->sign));
	job->task_url = df_url_filter(req->url, req->filter);
	job->tfn = dg_task_file_name(req->output, job->sign);
	if (req->sha256) {
		for (int i = 0; i < 64; i++)
			job->sha256_want[i] = (char)tolower((unsigned char)req->sha256[i]);
	} else {
		dg_sha256_from_url(req->url, job->sha256_want);
	}
	int rc = dg_home_init(&job->home, req->home, true, err, errsz);
	if (rc < 0)
		return rc;
	job->data_path = xasprintf("%s/%s", job->home.data, job->tfn);
	job->map_path = xasprintf("%s/%s", job->home.pieces, job->tfn);
	job->ctl = df_curl_new();
	return dg_output_prepare_dir(req->output, err, errsz);
}

static void job_cleanup(struct dg_job *job)
{
	dg_hostbucket_free(job->hb);
	if (job->ctl)
		curl_easy_cleanup(job->ctl);
	free(job->task_url);
	free(job->tfn);
	free(job->data_path);
	free(job->map_path);
	dg_home_cleanup(&job->home);
}

static void reset_counters(struct dg_job *job)
{
	atomic_store(&job->done, 0);
	atomic_store(&job->in_order, 0);
	atomic_store(&job->from_peers, 0);
	atomic_store(&job->from_supernode, 0);
	atomic_store(&job->from_source, 0);
}

/* Make sure the host's uploader runs and knows our data file; without it the download
 * still works, it just serves nobody (the cdn pattern). */
static int open_uploader(struct dg_job *job)
{
	const struct dg_request *req = job->req;
	int map_fd = open(job->map_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (map_fd < 0) {
		log_warn_errno(errno, "cannot create %s: not serving this download",
			       job->map_path);
		return -1;
	}
	struct dg_uplink_opts o = {
		.home = &job->home,
		.exe = req->uploader_exe,
		.port = req->port,
		.alive_ms = req->alive_ms,
		.expire_ms = req->expire_ms,
		.verbose = req->verbose_uploader,
	};
	char e[512];
	if (dg_uplink_ensure(job->ctl, &o, job->tfn, req->total_limit, &job->up_port, e,
			     sizeof(e)) < 0) {
		log_warn("no uploader (%s): this download will not serve other peers", e);
		job->up_port = 0;
		close(map_fd);
		unlink(job->map_path);
		return -1;
	}
	return map_fd;
}

static enum dg_p2p_status run_p2p(struct dg_job *job, char *err, size_t errsz)
{
	const struct dg_request *req = job->req;
	int data_fd = open(job->data_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (data_fd < 0) {
		snprintf(err, errsz, "cannot create %s: %s", job->data_path, strerror(errno));
		return DG_P2P_PREPARE;
	}
	int map_fd = -1;
	if (req->pattern == DG_PATTERN_P2P && req->uploader_exe)
		map_fd = open_uploader(job);
	job->hb = dg_hostbucket_new(req->local_limit, job->up_port, job->tfn);
	job->cur_path = job->data_path;
	enum dg_p2p_status st = dg_p2p_run(job, data_fd, map_fd, err, errsz);
	close(data_fd);
	if (st == DG_P2P_DONE &&
	    dg_output_from_data(job->data_path, req->output, job->sign, err, errsz) < 0)
		st = DG_P2P_PREPARE;
	if (st == DG_P2P_DONE && job->up_port)
		dg_uplink_finish(job->ctl, job->up_port, job->tfn, job->task_id, job->cid,
				 job->node);
	if (map_fd >= 0) {
		close(map_fd);
		unlink(job->map_path);
	}
	if (st != DG_P2P_DONE || !job->up_port)
		unlink(job->data_path);
	return st;
}

static int run_source(struct dg_job *job, char *err, size_t errsz)
{
	atomic_store(&job->stop, false);
	reset_counters(job);
	set_deadline(job, job->total);
	if (!job->hb)
		job->hb = dg_hostbucket_new(job->req->local_limit, job->up_port, job->tfn);
	char *tmp = dg_output_temp(job->req->output, job->sign);
	int rc = dg_backsource_run(job, tmp, err, errsz);
	if (rc == 0)
		rc = dg_output_rename(tmp, job->req->output, err, errsz);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

static void report_metrics(struct dg_job *job, bool ok)
{
	if (!job->task_id[0] || !job->node[0])
		return;
	struct dg_metrics m = {
		.ip = job->ip,
		.port = job->up_port,
		.task_id = job->task_id,
		.cid = job->cid,
		.callsystem = job->req->callsystem,
		.duration_s = (double)(df_mono_us() - job->t0_us) / 1e6,
		.success = ok,
		.backsource_reason = job->backsource_reason,
		.file_length = job->total,
	};
	char err[256];
	if (dg_sn_metrics(job->ctl, job->node, &m, err, sizeof(err)) < 0)
		log_debug("metrics not sent: %s", err);
}

/* The P2P phase; returns an exit code, or -1 when the source should be tried. */
static int p2p_phase(struct dg_job *job, char *err, size_t errsz)
{
	enum dg_p2p_status st = run_p2p(job, err, errsz);
	switch (st) {
	case DG_P2P_DONE:
		return DF_EXIT_OK;
	case DG_P2P_AUTH:
		return DF_EXIT_REGISTER;
	case DG_P2P_PREPARE:
		return DF_EXIT_PREPARE;
	case DG_P2P_CANCELLED:
		return DF_EXIT_DOWNLOAD;
	case DG_P2P_FAILED:
		break;
	}
	job->backsource_reason = job->task_id[0] ? BS_DOWNLOAD : BS_REGISTER;
	if (job->req->notbs) {
		size_t n = strlen(err);
		snprintf(err + n, errsz - n, "; not trying the source (--notbs)");
		return DF_EXIT_DOWNLOAD;
	}
	log_warn("P2P download failed (%s): downloading from the source", err);
	return -1;
}

static void fill_result(struct dg_job *job, int code, struct dg_result *r)
{
	memset(r, 0, sizeof(*r));
	r->exit_code = code;
	r->length = job->total;
	r->from_peers = atomic_load(&job->from_peers);
	r->from_supernode = atomic_load(&job->from_supernode);
	r->from_source = atomic_load(&job->from_source);
	r->duration_us = df_mono_us() - job->t0_us;
	r->back_source = job->back_source;
	memcpy(r->task_id, job->task_id, sizeof(r->task_id));
	memcpy(r->node, job->node, sizeof(r->node));
	memcpy(r->md5, job->md5, sizeof(r->md5));
}

int dg_download(const struct dg_request *req, struct dg_result *result_r, char *err,
		size_t errsz)
{
	struct dg_job job;
	struct dg_result dummy;
	struct dg_result *res = result_r ? result_r : &dummy;
	memset(res, 0, sizeof(*res));
	if (check_request(req, err, errsz) < 0)
		return res->exit_code = DF_EXIT_USAGE;
	int code = DF_EXIT_OK;
	if (job_init(&job, req, err, errsz) < 0) {
		code = DF_EXIT_PREPARE;
		goto out;
	}
	log_info("download %s -> %s (pattern %s, task file %s)", req->url, req->output,
		 dg_pattern_name(req->pattern), job.tfn);
	code = -1;
	if (req->pattern != DG_PATTERN_SOURCE)
		code = p2p_phase(&job, err, errsz);
	else
		job.backsource_reason = BS_USER;
	if (code == -1) {
		size_t n = strlen(err);
		char *p2p_err = req->pattern != DG_PATTERN_SOURCE && n ? xstrdup(err) : NULL;
		int rc = run_source(&job, err, errsz);
		code = rc == 0 ? DF_EXIT_OK : rc == -ENOSPC ? DF_EXIT_PREPARE : DF_EXIT_DOWNLOAD;
		if (rc < 0 && p2p_err) {
			char *src_err = xstrdup(err);
			snprintf(err, errsz, "P2P failed (%s), then the source failed: %s", p2p_err,
				 src_err);
			free(src_err);
		}
		free(p2p_err);
	}
	report_metrics(&job, code == DF_EXIT_OK);
	if (code == DF_EXIT_OK && req->progress) {
		struct dg_progress p = {
			.total = job.total,
			.done = job.total,
			.in_order = job.total,
			.from_peers = atomic_load(&job.from_peers),
			.from_supernode = atomic_load(&job.from_supernode),
			.from_source = atomic_load(&job.from_source),
			.elapsed_us = df_mono_us() - job.t0_us,
			.data_path = req->output,
			.back_source = job.back_source,
			.finished = true,
		};
		req->progress(&p, req->progress_arg);
	}
	if (code == DF_EXIT_OK)
		log_info("downloaded %s (%" PRId64 " bytes, md5 %s) in %.3f s", req->output,
			 job.total, job.md5, (double)(df_mono_us() - job.t0_us) / 1e6);
	else
		log_error("download of %s failed (exit %d): %s", req->url, code, err);
out:
	fill_result(&job, code, res);
	job_cleanup(&job);
	return code;
}
