/*
 * config_parse: see include/config_parse.h. Fields are written with
 * memcpy at their offset and width, so one setter per type serves every
 * option of that type whatever the struct the field sits in.
 */
#include "config_parse.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static bool config_uint(const struct config_opt *o, const char *arg, unsigned long *out, char *err,
			size_t errlen);
static bool config_store_uint(const struct config_opt *o, void *field, unsigned long v);
static bool config_string(void *field, const char *arg);
static bool config_yes_no(const struct config_opt *o, const char *arg, bool *out, char *err,
			  size_t errlen);

bool
config_push(char ***v, size_t *n, const char *s)
{
	char *copy = strdup(s);
	char **nv = copy ? realloc(*v, (*n + 1) * sizeof(**v)) : NULL;

	if (!nv) {
		free(copy);
		return false;
	}
	nv[(*n)++] = copy;
	*v = nv;
	return true;
}

bool
config_parse_size(const char *text, size_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (*text < '0' || *text > '9' || errno)
		return false;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		return false;
	}
	if (*end && end[1] != '\0')
		return false;
	if (v == 0 || v > (SIZE_MAX >> shift))
		return false;
	*out = (size_t)(v << shift);
	return true;
}

static bool
config_uint(const struct config_opt *o, const char *arg, unsigned long *out, char *err,
	    size_t errlen)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, 10);
	if (*arg < '0' || *arg > '9' || *end != '\0' || errno || *out > o->max) {
		snprintf(err, errlen, "--%s: '%s' is not a number from 0 to %lu", o->name, arg,
			 o->max);
		return false;
	}
	if (*out < o->min) {
		snprintf(err, errlen, "--%s: at least %lu %s", o->name, o->min, o->unit);
		return false;
	}
	if (*out < o->floor)
		*out = o->floor;
	return true;
}

static bool
config_store_uint(const struct config_opt *o, void *field, unsigned long v)
{
	if (o->width == sizeof(uint32_t)) {
		uint32_t v32 = (uint32_t)v;
		memcpy(field, &v32, sizeof(v32));
		return true;
	}
	if (o->width == sizeof(uint64_t)) {
		uint64_t v64 = v;
		memcpy(field, &v64, sizeof(v64));
		return true;
	}
	return false;
}

/* Root hints and trust anchor are const char * in upstream_options; the
 * owner frees them, so writing them as char * is what they are. */
static bool
config_string(void *field, const char *arg)
{
	char **slot = field;
	char *copy = strdup(arg);

	if (!copy)
		return false;
	free(*slot);
	*slot = copy;
	return true;
}

static bool
config_yes_no(const struct config_opt *o, const char *arg, bool *out, char *err, size_t errlen)
{
	if (strcmp(arg, "yes") == 0 || strcmp(arg, "no") == 0) {
		*out = arg[0] == 'y';
		return true;
	}
	snprintf(err, errlen, "--%s: '%s' is not yes or no", o->name, arg);
	return false;
}

bool
config_opt_set(const struct config_opt *o, struct config *cfg, const char *arg, char *err,
	       size_t errlen)
{
	char *field = (char *)cfg + o->offset;
	unsigned long v;
	size_t size;
	bool on = true;

	switch (o->type) {
	case CONFIG_T_UINT:
		return config_uint(o, arg, &v, err, errlen) && config_store_uint(o, field, v);
	case CONFIG_T_SIZE:
		if (!config_parse_size(arg, &size)) {
			snprintf(err, errlen, "--%s: '%s' is not a size like 64m", o->name, arg);
			return false;
		}
		memcpy(field, &size, sizeof(size));
		return true;
	case CONFIG_T_YESNO:
		if (!config_yes_no(o, arg, &on, err, errlen))
			return false;
		memcpy(field, &on, sizeof(on));
		return true;
	case CONFIG_T_STRING:
		return config_string(field, arg);
	case CONFIG_T_LIST:
		if (o->valid && !o->valid(arg)) {
			snprintf(err, errlen, "--%s: '%s' is not %s", o->name, arg, o->metavar);
			return false;
		}
		return config_push((char ***)(void *)field,
				   (size_t *)(void *)((char *)cfg + o->aux), arg);
	case CONFIG_T_ADDR:
		if (!strchr(arg, '@') ||
		    !sock_parse_addr(arg, 0, (struct sock_addr *)(void *)field)) {
			snprintf(err, errlen, "--%s: '%s' is not %s", o->name, arg, o->metavar);
			return false;
		}
		memcpy((char *)cfg + o->aux, &on, sizeof(on));
		return true;
	case CONFIG_T_FLAG:
		memcpy(field, &on, sizeof(on));
		return true;
	case CONFIG_T_COUNT:
		++*(int *)(void *)field;
		return true;
	case CONFIG_T_CUSTOM:
		return o->set(cfg, arg, err, errlen);
	case CONFIG_T_META:
		break;
	}
	return false;
}

bool
config_opt_unset(const struct config_opt *o, const struct config *cfg)
{
	const char *field = (const char *)cfg + o->offset;
	size_t n;
	void *p;

	if (o->type == CONFIG_T_STRING) {
		memcpy(&p, field, sizeof(p));
		return p == NULL;
	}
	memcpy(&n, (const char *)cfg + o->aux, sizeof(n));
	return n == 0;
}
