/* Drives the download engine (libdfget, download.h) the way dfdaemon will, for
 * tests/e2e/dg_engine.sh: several downloads at once in one process, each checking in its
 * progress callback that what the engine calls final really is: the first in_order bytes
 * of data_path equal the original file's, in_order never goes back, and the counters stay
 * consistent. With "cancel" the callback cancels halfway and the call must fail cleanly.
 *
 * Usage: dg_engine_probe NODE HOME ORIGINAL_FILE OUTDIR (URL)... [cancel URL] */
#include "config.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dfget/download.h"
#include "fsutil.h"
#include "protocol.h"
#include "xalloc.h"

static const char *node, *home, *original;
static int orig_fd;

struct probe {
	pthread_t thread;
	const char *url;
	char *output;
	bool cancel;
	int64_t last_in_order;
	int calls, checks;
	char failure[256];
	int code;
	char err[1024];
	struct dg_result res;
};

/* Compare the verified prefix of the file being written with the original. */
static int on_progress(const struct dg_progress *p, void *arg)
{
	struct probe *pr = arg;
	pr->calls++;
	if (pr->failure[0])
		return 0;
	if (p->in_order < pr->last_in_order || p->in_order > p->done ||
	    (p->total >= 0 && p->done > p->total)) {
		snprintf(pr->failure, sizeof(pr->failure),
			 "inconsistent progress: in_order %lld (was %lld), done %lld, total %lld",
			 (long long)p->in_order, (long long)pr->last_in_order, (long long)p->done,
			 (long long)p->total);
		return 0;
	}
	pr->last_in_order = p->in_order;
	if (p->in_order > 0 && p->data_path && !p->finished) {
		int fd = open(p->data_path, O_RDONLY);
		int64_t n = p->in_order < (1 << 20) ? p->in_order : (1 << 20);
		int64_t off = p->in_order - n; /* the end of the final prefix */
		char *a = xmalloc((size_t)n), *b = xmalloc((size_t)n);
		if (fd < 0 || df_pread_all(fd, a, (size_t)n, off) < 0 ||
		    df_pread_all(orig_fd, b, (size_t)n, off) < 0 || memcmp(a, b, (size_t)n) != 0)
			snprintf(pr->failure, sizeof(pr->failure),
				 "bytes %lld-%lld of %s are called final but differ from the original",
				 (long long)off, (long long)p->in_order, p->data_path);
		else
			pr->checks++;
		free(a);
		free(b);
		if (fd >= 0)
			close(fd);
	}
	if (pr->cancel && p->total > 0 && p->done * 2 >= p->total)
		return 1;
	return 0;
}

static void *run(void *arg)
{
	struct probe *pr = arg;
	struct dg_request req;
	dg_request_init(&req);
	req.url = pr->url;
	req.output = pr->output;
	req.nodes = node;
	req.home = home;
	req.notbs = true;
	req.local_limit = pr->cancel ? 8 << 20 : 0;
	req.uploader_exe = getenv("DFGET");
	req.progress = on_progress;
	req.progress_arg = pr;
	pr->code = dg_download(&req, &pr->res, pr->err, sizeof(pr->err));
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: %s NODE HOME ORIGINAL OUTDIR URL... [cancel URL]\n", argv[0]);
		return 2;
	}
	node = argv[1];
	home = argv[2];
	original = argv[3];
	const char *outdir = argv[4];
	orig_fd = open(original, O_RDONLY);
	if (orig_fd < 0) {
		perror(original);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct probe pr[16];
	int n = 0;
	memset(pr, 0, sizeof(pr));
	for (int i = 5; i < argc && n < 16; i++) {
		if (strcmp(argv[i], "cancel") == 0 && i + 1 < argc) {
			pr[n].cancel = true;
			i++;
		}
		pr[n].url = argv[i];
		pr[n].output = xasprintf("%s/out%d", outdir, n);
		n++;
	}
	for (int i = 0; i < n; i++)
		pthread_create(&pr[i].thread, NULL, run, &pr[i]);
	int bad = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(pr[i].thread, NULL);
		bool exists = access(pr[i].output, F_OK) == 0;
		if (pr[i].cancel) {
			if (pr[i].code != DF_EXIT_DOWNLOAD || !strstr(pr[i].err, "cancelled") || exists) {
				printf("download %d: cancel gave exit %d (%s), output %s\n", i,
				       pr[i].code, pr[i].err, exists ? "exists" : "absent");
				bad = 1;
			}
		} else if (pr[i].code != 0 || pr[i].failure[0] || !exists) {
			printf("download %d: exit %d (%s) %s\n", i, pr[i].code, pr[i].err,
			       pr[i].failure);
			bad = 1;
		}
		printf("download %d: exit %d, %d progress calls, %d prefix checks, %lld bytes "
		       "(%lld from peers, %lld from the supernode)\n",
		       i, pr[i].code, pr[i].calls, pr[i].checks, (long long)pr[i].res.length,
		       (long long)pr[i].res.from_peers, (long long)pr[i].res.from_supernode);
		free(pr[i].output);
	}
	curl_global_cleanup();
	close(orig_fd);
	return bad;
}
