/* Small helpers over cJSON for the protocol's envelopes. Thread-safe (no shared state).
 * cJSON object keys are matched case-insensitively, as the original's Go decoder does. */
#ifndef DF_JSON_H
#define DF_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* Borrowed string value of key, or NULL when absent or not a string. */
const char *df_json_str(const cJSON *obj, const char *key);
/* Integer value of key (a JSON number, or a string of decimal digits). */
bool df_json_int(const cJSON *obj, const char *key, int64_t *v_r);
/* Boolean value of key (true/false, or "true"/"false" strings). */
bool df_json_bool(const cJSON *obj, const char *key, bool *v_r);

/* Compact text of json (the caller's; free()). Aborts on out-of-memory. */
char *df_json_print(const cJSON *json);

/* Create helpers that abort on out-of-memory instead of returning NULL. */
cJSON *df_json_object(void);
cJSON *df_json_array(void);
void df_json_add_str(cJSON *obj, const char *key, const char *value);
void df_json_add_int(cJSON *obj, const char *key, int64_t value);
void df_json_add_bool(cJSON *obj, const char *key, bool value);
void df_json_add_double(cJSON *obj, const char *key, double value);

#endif
