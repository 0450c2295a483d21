/*
 * config_parse: what an option is (its type, bounds, field in struct
 * config, default and help) and how a value of each type is stored. The
 * table of options is config.c's; nothing here knows a particular option.
 */
#ifndef MXCACHE_CONFIG_PARSE_H
#define MXCACHE_CONFIG_PARSE_H

#include <stdbool.h>
#include <stddef.h>

struct config;

enum config_type {
	CONFIG_T_UINT,	 /* decimal from min to max, raised to floor, 4 or 8 bytes wide */
	CONFIG_T_SIZE,	 /* "64m" into a size_t */
	CONFIG_T_YESNO,	 /* "yes" or "no" into a bool */
	CONFIG_T_STRING, /* a char *, replaced by each use */
	CONFIG_T_LIST,	 /* a char ** with its size_t count at aux, appended to */
	CONFIG_T_ADDR,	 /* ADDR@PORT into a struct sock_addr; the bool at aux set */
	CONFIG_T_FLAG,	 /* no value: the bool set */
	CONFIG_T_COUNT,	 /* no value: the int counted up */
	CONFIG_T_CUSTOM, /* set() does it */
	CONFIG_T_META,	 /* -c, -V, -h: config_load's own, never in a file */
};

typedef bool (*config_setter)(struct config *cfg, const char *arg, char *err, size_t errlen);

struct config_opt {
	const char *name;
	int short_name; /* 0: long only */
	enum config_type type;
	const char *metavar;	     /* NULL: a flag without argument */
	size_t offset;		     /* of the field in struct config */
	size_t width;		     /* its size */
	size_t aux;		     /* LIST: offset of the count; ADDR: of the "given" bool */
	unsigned long min, max;	     /* UINT: accepted range */
	unsigned long floor;	     /* UINT: smaller values (0) stored as this */
	const char *unit;	     /* UINT: for messages, e.g. "ms" */
	bool (*valid)(const char *); /* LIST: the value's shape (NULL: anything) */
	config_setter set;	     /* CUSTOM */
	const char *def;	     /* the default as it would be typed; NULL: none */
	bool reload;		     /* SIGHUP applies a new value */
	const char *help;
};

/* Parses arg as o's type into o's field of cfg; false with err set
 * ("--name: ...") on a bad value, or on memory exhaustion. */
bool config_opt_set(const struct config_opt *o, struct config *cfg, const char *arg, char *err,
		    size_t errlen);

/* Whether the field of a list or string option is still unset. */
bool config_opt_unset(const struct config_opt *o, const struct config *cfg);

/* Appends a copy of s to the string vector *v of *n entries. */
bool config_push(char ***v, size_t *n, const char *s);

/* "64m", "1g", "512k", "1000000"; false if malformed or zero. */
bool config_parse_size(const char *text, size_t *out);

#endif
