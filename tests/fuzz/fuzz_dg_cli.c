/* libFuzzer: dfget's command line (src/dfget/cli.h) with every flag, the --node list it
 * carries (src/dfget/locator.h: parse, weighted order, failover), --header lines and the
 * request built from them. Input: the arguments separated by NUL bytes (argv[0] is added).
 * Arguments that would read a file (--config) are dropped; DFGET_CONFIG is /dev/null.
 * fuzz-libs: dfget
 */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dfget/cli.h"
#include "dfget/download.h"
#include "dfget/locator.h"

#define MAX_ARGS 32

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("DFGET_CONFIG", "/dev/null", 1);
	return 0;
}

static uint64_t rnd(void *arg)
{
	uint64_t *s = arg;
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 11;
}

static void nodes(const char *spec)
{
	char err[512];
	struct dg_locator *loc = NULL;
	if (dg_locator_parse(spec, &loc, err, sizeof(err)) < 0)
		return;
	size_t n = dg_locator_count(loc);
	if (n == 0)
		__builtin_trap();
	for (size_t i = 0; i < n; i++) {
		const struct dg_node *nd = dg_locator_node(loc, i);
		if (!nd || !nd->host || !nd->hostport || nd->weight < 1 ||
		    nd->weight > DG_NODE_WEIGHT_MAX)
			__builtin_trap();
	}
	uint64_t seed = n;
	dg_locator_shuffle(loc, rnd, &seed);
	size_t tried = 0;
	for (const struct dg_node *nd = dg_locator_current(loc); nd; nd = dg_locator_next(loc))
		if (++tried > n)
			__builtin_trap(); /* every node once, then none */
	if (tried != n)
		__builtin_trap();
	dg_locator_free(loc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	argv[argc++] = (char *)"dfget";
	for (char *p = buf; p <= buf + size && argc < MAX_ARGS + 1; p += strlen(p) + 1) {
		if (strncmp(p, "--conf", 6) == 0)
			continue;
		argv[argc++] = p;
	}
	argv[argc] = NULL;
	/* getopt keeps a pointer into the previous input: start it afresh. */
	char *none[] = { (char *)"x", NULL };
	optind = 0;
	(void)getopt(1, none, "");
	struct dg_cli cli;
	char err[1024];
	if (dg_cli_parse(argc, argv, &cli, err, sizeof(err)) == 0) {
		if (cli.s.node && *cli.s.node)
			nodes(cli.s.node);
		for (size_t i = 0; i < cli.nheaders; i++)
			if (!strchr(cli.headers[i], ':'))
				__builtin_trap();
		struct dg_request req;
		dg_request_init(&req);
		dg_cli_to_request(&cli, &req);
	}
	dg_cli_cleanup(&cli); /* after a failure too (what main does) */
	/* The node list on its own, as dfget.conf or dfdaemon would give it. */
	nodes(buf);
	free(buf);
	return 0;
}
