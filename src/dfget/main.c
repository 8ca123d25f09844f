/* dfget: download a file through the Dragonfly P2P network. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out, "Usage: dfget [OPTIONS]\n"
		     "download a file through the Dragonfly P2P network.\n\n"
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
			printf("dfget %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	fprintf(stderr, "dfget: not implemented yet\n");
	return 1;
}
