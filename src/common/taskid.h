/* Task identity (protocol.md "Task identity"): the task URL with filtered query parameters
 * removed, and the task id hashed from it. Pure functions, thread-safe. */
#ifndef DF_TASKID_H
#define DF_TASKID_H

#include <stdbool.h>
#include <stddef.h>

#define DF_TASK_ID_LEN 64

/* Remove the query parameters whose keys are listed in filter ("&"-separated, e.g.
 * "Expires&Signature") from url, keeping the order of the others. The query is what follows
 * the first '?'. With nothing left, the '?' goes too. Returns a heap string (the caller's). */
char *df_url_filter(const char *url, const char *filter);

/* id_r gets the lowercase hex sha256 of KEY + task_url + SIGN + range + KEY, where SIGN is
 * md5 when non-empty, else identifier, else "". md5, identifier and range may be NULL. */
void df_task_id(const char *task_url, const char *md5, const char *identifier,
		const char *range, char id_r[DF_TASK_ID_LEN + 1]);

/* True for 64 lowercase hex characters: a task id safe to use in a file name. */
bool df_task_id_valid(const char *id);

/* True when s is a plausible http(s) URL: scheme, a host, no spaces or control characters. */
bool df_url_valid(const char *url);

#endif
