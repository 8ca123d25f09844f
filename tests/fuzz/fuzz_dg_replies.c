/* libFuzzer: what dfget reads from the network and from its home: the supernode's
 * registration and pull replies (src/dfget/snapi.h), the host.meta file that names the
 * host's uploader, a task file name built from an output path, the sha256 a URL names.
 * Input: one byte choosing the parser, then its text.
 * fuzz-libs: dfget
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dfget/snapi.h"
#include "dfget/store.h"

static void host_meta(const char *text, size_t len)
{
	int fd = memfd_create("host.meta", MFD_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, text, len) == (ssize_t)len) {
		char path[64];
		uint16_t port = 0;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		(void)dg_host_meta_read(path, &port);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	char err[512];
	switch (data[0] % 5) {
	case 0: {
		struct dg_reg_reply rp;
		if (dg_reg_reply_parse(text, &rp, err, sizeof(err)) == 0 &&
		    strlen(rp.task_id) > 64)
			__builtin_trap();
		break;
	}
	case 1: {
		struct dg_pull_reply rp;
		if (dg_pull_reply_parse(text, &rp, err, sizeof(err)) == 0) {
			for (size_t i = 0; i < rp.ntasks; i++) {
				const struct dg_piece_task *t = &rp.tasks[i];
				if (!t->cid || !t->peer_ip || !t->path || strlen(t->md5) > 32)
					__builtin_trap();
				struct dg_piece_task copy;
				dg_piece_task_copy(&copy, t);
				dg_piece_task_cleanup(&copy);
			}
			dg_pull_reply_cleanup(&rp);
		}
		break;
	}
	case 2:
		host_meta(text, size - 1);
		break;
	case 3: {
		char *name = dg_task_file_name(text, "1-2-3");
		if (name && dg_task_file_name_valid(name) && (strchr(name, '/') || name[0] == '.'))
			__builtin_trap();
		free(name);
		break;
	}
	default: {
		char hex[65];
		if (dg_sha256_from_url(text, hex) && strlen(hex) != 64)
			__builtin_trap();
		break;
	}
	}
	free(text);
	return 0;
}
