/* Table-driven configuration: defaults -> INI file (inih) -> command line.
 *
 * A program describes its keys once, as an array of struct df_cfg_key ending with a zeroed
 * entry, each naming a field of the program's own settings struct by offset. The program
 * fills the struct with defaults, calls df_cfg_load_file(), then df_cfg_set() for each
 * command-line flag, so every value passes the same checks and error messages name where
 * the bad value came from. Not thread-safe: used at start-up, before threads exist.
 */
#ifndef DF_CONF_H
#define DF_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum df_cfg_type {
	DF_CFG_STRING,	 /* char * (heap, owned by the settings struct; see df_cfg_free) */
	DF_CFG_INT,	 /* int64_t, within [min, max] */
	DF_CFG_BOOL,	 /* bool: true/false, yes/no, on/off, 1/0 */
	DF_CFG_SIZE,	 /* int64_t bytes: "20MB", "512K", "100" (also rates) */
	DF_CFG_DURATION, /* int64_t milliseconds: "5m", "30s", "250ms", "10" (seconds) */
};

struct df_cfg_key {
	const char *section; /* "supernode" */
	const char *name;    /* "port" */
	enum df_cfg_type type;
	size_t offset; /* offsetof(struct settings, field) */
	int64_t min, max; /* inclusive; ignored for strings and bools; min == max == 0: any */
	const char *help;
};

/* The longest line we accept. Debian's inih cuts lines at 200 bytes without a word; we
 * refuse such lines instead of using half a value. */
#define DF_CFG_MAX_LINE 198

/* Parse an INI file into settings. Unknown sections or keys, bad values and over-long lines
 * are errors: err gets "FILE:LINE: ..." naming the key and the accepted form.
 * Returns 0, -ENOENT when the file does not exist (err says so), or -EINVAL. */
int df_cfg_load_file(const struct df_cfg_key *keys, void *settings, const char *path,
		     char *err, size_t errsz);
/* The same for an in-memory INI text; origin names it in errors. */
int df_cfg_load_string(const struct df_cfg_key *keys, void *settings, const char *text,
		       const char *origin, char *err, size_t errsz);

/* Set one key from a string, as from the command line. section may be NULL to match the
 * name in any section. origin ("--port") names the source in errors. Returns 0, -ENOENT
 * (no such key) or -EINVAL. */
int df_cfg_set(const struct df_cfg_key *keys, void *settings, const char *section,
	       const char *name, const char *value, const char *origin, char *err, size_t errsz);

/* Find a key's description, or NULL. */
const struct df_cfg_key *df_cfg_find(const struct df_cfg_key *keys, const char *section,
				     const char *name);

/* Free every DF_CFG_STRING field of settings (and set it to NULL). */
void df_cfg_free(const struct df_cfg_key *keys, void *settings);

/* Write the effective configuration as INI text (for --check-config and debugging).
 * Returns a heap string, the caller's. */
char *df_cfg_dump(const struct df_cfg_key *keys, const void *settings);

bool df_cfg_parse_bool(const char *s, bool *v_r);

#endif
