/* supernode: the Dragonfly cluster manager: CDN cache, piece scheduler and piece server. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out, "Usage: supernode [OPTIONS]\n"
		     "the Dragonfly cluster manager: CDN cache, piece scheduler and piece server.\n\n"
		     "  -h, --help     show this help and exit\n"
		     "  -v, --version  show the version and exit\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
			printf("supernode %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	fprintf(stderr, "supernode: not implemented yet\n");
	return 1;
}
