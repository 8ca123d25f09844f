/* Work-home layout and names (see store.h). No shared state: every function is
 * thread-safe. */
#include "config.h"
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "fsutil.h"
#include "json.h"
#include "timeutil.h"
#include "xalloc.h"

char *dg_expand_home(const char *path)
{
	if (path[0] != '~' || (path[1] != '\0' && path[1] != '/'))
		return xstrdup(path);
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd pw, *res = NULL;
		char buf[1024];
		if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) == 0 && res)
			return xasprintf("%s%s", res->pw_dir, path + 1);
		home = "/tmp";
	}
	return xasprintf("%s%s", home, path + 1);
}

int dg_home_init(struct dg_home *h, const char *root, bool create, char *err, size_t errsz)
{
	memset(h, 0, sizeof(*h));
	h->root = dg_expand_home(root && *root ? root : "~/.small-dragonfly");
	h->data = xasprintf("%s/data", h->root);
	h->meta = xasprintf("%s/meta", h->root);
	h->pieces = xasprintf("%s/meta/pieces", h->root);
	h->logs = xasprintf("%s/logs", h->root);
	h->host_meta = xasprintf("%s/meta/host.meta", h->root);
	h->lock = xasprintf("%s/meta/lock", h->root);
	if (!create)
		return 0;
	const char *dirs[] = { h->data, h->pieces, h->logs };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		int rc = df_mkdir_p(dirs[i], 0755);
		if (rc < 0) {
			snprintf(err, errsz, "cannot create %s: %s (choose another --home)", dirs[i],
				 strerror(-rc));
			return rc;
		}
	}
	return 0;
}

void dg_home_cleanup(struct dg_home *h)
{
	if (!h)
		return;
	free(h->root);
	free(h->data);
	free(h->meta);
	free(h->pieces);
	free(h->logs);
	free(h->host_meta);
	free(h->lock);
	memset(h, 0, sizeof(*h));
}

void dg_make_sign(char *buf, size_t bufsz)
{
	unsigned char r[3] = { 0, 0, 0 };
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		uint64_t t = (uint64_t)df_mono_us();
		r[0] = (unsigned char)t;
		r[1] = (unsigned char)(t >> 8);
		r[2] = (unsigned char)(t >> 16);
	}
	snprintf(buf, bufsz, "%ld-%lld-%02x%02x%02x", (long)getpid(), (long long)df_wall_ms(),
		 r[0], r[1], r[2]);
}

static bool name_char_ok(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-';
}

char *dg_task_file_name(const char *output, const char *sign)
{
	const char *base = strrchr(output, '/');
	base = base ? base + 1 : output;
	size_t len = strlen(base);
	if (len > 80)
		len = 80;
	char *name = xasprintf("%.*s-%s", (int)len, base, sign);
	for (char *p = name; *p; p++) {
		if (!name_char_ok(*p))
			*p = '_';
	}
	if (name[0] == '.' || name[0] == '-')
		name[0] = '_';
	return name;
}

bool dg_task_file_name_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0 || len > 200 || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++) {
		if (!name_char_ok(*p))
			return false;
	}
	return true;
}

int dg_host_meta_read(const char *path, uint16_t *port_r)
{
	char *text = NULL;
	size_t len = 0;
	int rc = df_read_file(path, 4096, &text, &len);
	if (rc < 0)
		return rc == -ENOENT ? -ENOENT : -EINVAL;
	cJSON *j = cJSON_Parse(text);
	free(text);
	int64_t port = -1;
	if (!j || !df_json_int(j, "servicePort", &port) || port < 0 || port > 65535)
		rc = -EINVAL;
	else
		*port_r = (uint16_t)port;
	cJSON_Delete(j);
	return rc;
}

int dg_host_meta_write(const char *path, uint16_t port)
{
	char text[64];
	int n = snprintf(text, sizeof(text), "{\"servicePort\":%u}\n", (unsigned)port);
	return df_write_file_atomic(path, text, (size_t)n, 0644);
}

int dg_piecemap_mark(int fd, int64_t n)
{
	static const unsigned char one = 1;
	if (n < 0)
		return -EINVAL;
	return df_pwrite_all(fd, &one, 1, (off_t)n);
}

int dg_piecemap_has(int fd, int64_t n, bool *has_r)
{
	unsigned char b = 0;
	*has_r = false;
	if (n < 0)
		return -EINVAL;
	for (;;) {
		ssize_t r = pread(fd, &b, 1, (off_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		*has_r = r == 1 && b == 1;
		return 0;
	}
}

bool dg_sha256_from_url(const char *url, char hex_r[65])
{
	static const char *const marks[] = { "sha256:", "sha256%3a" };
	for (const char *p = url; p && *p; p++) {
		for (size_t m = 0; m < 2; m++) {
			size_t ml = strlen(marks[m]);
			if (strncasecmp(p, marks[m], ml) != 0)
				continue;
			const char *h = p + ml;
			size_t i = 0;
			while (i < 64 && isxdigit((unsigned char)h[i]))
				i++;
			if (i != 64 || isxdigit((unsigned char)h[64]))
				continue;
			for (i = 0; i < 64; i++)
				hex_r[i] = (char)tolower((unsigned char)h[i]);
			hex_r[64] = '\0';
			return true;
		}
	}
	return false;
}
