/* www: static files of the status page (see www.h). */
#include "config.h"
#include "www.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctx.h"
#include "httpd.h"
#include "log.h"
#include "settings.h"
#include "xalloc.h"

#define CSP "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " \
	    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

bool sn_www_match(const char *url)
{
	if (url[0] != '/')
		return false;
	const char *name = url + 1;
	if (!*name)
		return true;
	if (!isalnum((unsigned char)name[0]) || strlen(name) > 128)
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
			return false;
	return true;
}

const char *sn_www_content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".json", "application/json" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

static enum MHD_Result not_found(struct MHD_Connection *con, const char *msg)
{
	return df_httpd_reply_text(con, MHD_HTTP_NOT_FOUND, msg);
}

enum MHD_Result sn_www_serve(struct sn_ctx *ctx, struct MHD_Connection *con, const char *url)
{
	const char *name = url[1] ? url + 1 : "index.html";
	char *path = xasprintf("%s/%s", ctx->cfg->www_dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	enum MHD_Result res;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		if (url[1])
			res = not_found(con, "no such file\n");
		else
			res = not_found(con, "the status page is not installed here: set www-dir to "
					     "the directory of its index.html\n");
		log_debug("www: %s: not served (%s)", path, fd < 0 ? strerror(errno) : "not a file");
		free(path);
		return res;
	}
	free(path);
	struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, sn_www_content_type(name));
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Content-Security-Policy", CSP);
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	res = MHD_queue_response(con, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return res;
}
