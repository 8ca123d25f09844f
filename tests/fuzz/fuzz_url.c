/* libFuzzer: URLs and --filter lists: validation, query filtering, task ids. Input: the
 * filter, a NUL byte, then the URL. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "taskid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 2);
	memcpy(buf, data, size);
	buf[size] = '\0';
	buf[size + 1] = '\0';
	const char *filter = buf;
	const char *url = memchr(buf, '\0', size) ? buf + strlen(buf) + 1 : buf;
	(void)df_url_valid(url);
	char *task_url = df_url_filter(url, filter);
	/* Filtering only ever removes. */
	if (strlen(task_url) > strlen(url))
		__builtin_trap();
	char id[DF_TASK_ID_LEN + 1];
	df_task_id(task_url, filter, NULL, url, id);
	if (!df_task_id_valid(id))
		__builtin_trap();
	free(task_url);
	free(buf);
	return 0;
}
