/* preheatreq: the body of POST /api/v1/preheats (and the legacy POST /preheats):
 *   {"type":"file"|"image", "url":"...", "filter":"k1&k2", "identifier":"...",
 *    "headers":{"K":"V",...}}   (headers may also be an array of "K: V" strings)
 * decoded and checked, with the preheat's id: the task id of the (filtered) URL, as the
 * original computed it, so a file preheat's id is the id of the task it fills; an image's
 * id is made distinct from a file preheat of the same URL. Pure; no shared state. */
#ifndef SN_PREHEATREQ_H
#define SN_PREHEATREQ_H

#include <stdbool.h>
#include <stddef.h>

struct sn_preheat_req {
	char *type; /* "file" or "image" */
	char *url;
	char *task_url; /* url without the filter's query keys */
	char *filter;
	char *identifier;
	char **headers; /* NULL-terminated "K: V" */
	size_t nheaders;
	char id[65];
};

/* Parse and check body. Returns 0, or -EINVAL with what is wrong (and what to send) in
 * err. */
int sn_preheat_req_parse(const char *body, size_t len, struct sn_preheat_req *r_r, char *err,
			 size_t errsz);
void sn_preheat_req_cleanup(struct sn_preheat_req *r);
/* A deep copy of r into out (the caller's). */
void sn_preheat_req_copy(const struct sn_preheat_req *r, struct sn_preheat_req *out);
/* The value of header name in r (borrowed), or NULL. */
const char *sn_preheat_req_header(const struct sn_preheat_req *r, const char *name);

#endif
