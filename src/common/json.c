#include "config.h"
#include "json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

static void *checked(void *p)
{
	if (!p) {
		log_error("out of memory building JSON");
		abort();
	}
	return p;
}

const char *df_json_str(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItem(obj, key);
	return cJSON_IsString(item) ? item->valuestring : NULL;
}

bool df_json_int(const cJSON *obj, const char *key, int64_t *v_r)
{
	const cJSON *item = cJSON_GetObjectItem(obj, key);
	if (cJSON_IsNumber(item)) {
		double d = item->valuedouble;
		if (d < -9.2e18 || d > 9.2e18)
			return false;
		*v_r = (int64_t)d;
		return true;
	}
	if (cJSON_IsString(item) && item->valuestring[0]) {
		char *end;
		errno = 0;
		long long v = strtoll(item->valuestring, &end, 10);
		if (*end != '\0' || errno != 0)
			return false;
		*v_r = v;
		return true;
	}
	return false;
}

bool df_json_bool(const cJSON *obj, const char *key, bool *v_r)
{
	const cJSON *item = cJSON_GetObjectItem(obj, key);
	if (cJSON_IsBool(item)) {
		*v_r = cJSON_IsTrue(item);
		return true;
	}
	if (cJSON_IsString(item)) {
		if (strcasecmp(item->valuestring, "true") == 0) {
			*v_r = true;
			return true;
		}
		if (strcasecmp(item->valuestring, "false") == 0) {
			*v_r = false;
			return true;
		}
	}
	return false;
}

char *df_json_print(const cJSON *json)
{
	return checked(cJSON_PrintUnformatted(json));
}

cJSON *df_json_object(void)
{
	return checked(cJSON_CreateObject());
}

cJSON *df_json_array(void)
{
	return checked(cJSON_CreateArray());
}

void df_json_add_str(cJSON *obj, const char *key, const char *value)
{
	checked(cJSON_AddStringToObject(obj, key, value ? value : ""));
}

void df_json_add_int(cJSON *obj, const char *key, int64_t value)
{
	checked(cJSON_AddNumberToObject(obj, key, (double)value));
}

void df_json_add_bool(cJSON *obj, const char *key, bool value)
{
	checked(cJSON_AddBoolToObject(obj, key, value));
}

void df_json_add_double(cJSON *obj, const char *key, double value)
{
	checked(cJSON_AddNumberToObject(obj, key, value));
}
