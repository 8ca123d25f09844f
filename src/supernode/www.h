/* www: the status page's files (www-dir: index.html, app.js, style.css), served by the API
 * port at / and /<file>. Only plain names in that one directory are served (no
 * subdirectories, no dot files), with a content type by extension and a strict
 * Content-Security-Policy (everything from this origin, nothing inline). The files are
 * read from disk at each request (the page is small; an upgrade needs no restart).
 * Runs on the API daemons' threads; no state. */
#ifndef SN_WWW_H
#define SN_WWW_H

#include <microhttpd.h>
#include <stdbool.h>

struct sn_ctx;

/* Is url a path of the page ("/" or "/<plain file name>")? Pure. */
bool sn_www_match(const char *url);
/* The content type for a file name (by extension). Pure. */
const char *sn_www_content_type(const char *name);
/* Answer a GET or HEAD of url from the www directory (404 when it has no such file). */
enum MHD_Result sn_www_serve(struct sn_ctx *ctx, struct MHD_Connection *con, const char *url);

#endif
