/*
 * spf: a strict RFC 7208 record parser, the DNS lookups a record asks
 * for, and a walker that evaluates a whole SPF tree through a lookup
 * callback, for a client that no address mechanism matches.
 *
 * Pure and deterministic: no allocation (every bound is fixed, the
 * caller provides the structs), no logging, no I/O but the callback.
 *
 * Names are text: ASCII, lower-cased, without the trailing dot
 * ("_spf.example.com"), at most SPF_NAME_MAX - 1 bytes. A caller over
 * the cache converts them with wire_name_from_text.
 */
#ifndef MXCACHE_SPF_H
#define MXCACHE_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPF_MAX_TERMS 64     /* a record with more is a permerror */
#define SPF_MAX_TEXT 4096    /* joined record text; longer is a permerror */
#define SPF_MAX_DNS_TERMS 10 /* RFC 7208 §4.6.4 */
#define SPF_MAX_VOID 2	     /* RFC 7208 §4.6.4 */
#define SPF_MAX_MX 10	     /* exchangers an "mx" may look up, §4.6.4 */
#define SPF_MAX_DEPTH 10     /* include/redirect nesting */
#define SPF_NAME_MAX 254     /* text name and its NUL */
#define SPF_NODE_TEXT 256    /* a node's term text, cut beyond */
/* Top record + one per include/redirect (each counts toward the 10), each
 * of at most SPF_MAX_TERMS nodes, plus the root: the walk cannot overflow. */
#define SPF_WALK_MAX_NODES ((SPF_MAX_DNS_TERMS + 1) * SPF_MAX_TERMS + 1)
/* Top TXT, then per counted term at most MX + 2 per exchanger. */
#define SPF_WALK_MAX_LOOKUPS (1 + SPF_MAX_DNS_TERMS * (1 + 2 * SPF_MAX_MX))

enum spf_kind {
	SPF_K_ALL,
	SPF_K_INCLUDE,
	SPF_K_A,
	SPF_K_MX,
	SPF_K_PTR,
	SPF_K_IP4,
	SPF_K_IP6,
	SPF_K_EXISTS,
	SPF_K_REDIRECT,
	SPF_K_EXP,
	SPF_K_MODIFIER, /* unknown name=value, ignored (§6) */
	SPF_K_ROOT,	/* walk nodes only: the domain checked */
};

enum spf_qualifier { SPF_Q_PASS, SPF_Q_FAIL, SPF_Q_SOFTFAIL, SPF_Q_NEUTRAL };

struct spf_term {
	uint8_t kind;	   /* enum spf_kind */
	uint8_t qualifier; /* enum spf_qualifier; PASS for modifiers */
	bool has_macro;	   /* domain-spec uses %{..}, %%, %_ or %-: callers skip it */
	uint8_t cidr4;	   /* a, mx, ip4: 32 when absent */
	uint8_t cidr6;	   /* a, mx, ip6: 128 when absent */
	uint16_t off, len; /* the term in spf_record.text */
	uint16_t dom_off;  /* domain-spec (or ip4/ip6 network, modifier value) */
	uint16_t dom_len;  /* 0: none, i.e. the current domain */
	uint8_t addr[16];  /* ip4 (4 bytes) / ip6 network */
};

struct spf_record {
	char text[SPF_MAX_TEXT + 1]; /* joined, NUL-terminated */
	size_t len;
	unsigned n_terms;
	struct spf_term terms[SPF_MAX_TERMS];
	int redirect, exp; /* term index, -1 if absent */
	bool has_all;	   /* then a redirect is ignored (§6.1) */
	const char *error; /* permerror: why (static text) */
	size_t error_pos;  /* permerror: byte offset in text */
};

enum spf_parse_status { SPF_PARSE_OK, SPF_PARSE_NOT_SPF, SPF_PARSE_PERMERROR };

/* Joins the character-strings of one TXT RDATA into out (NUL-terminated,
 * cut at cap - 1). Returns the full joined length, or SIZE_MAX if the
 * RDATA is malformed (a string runs past its end). */
size_t spf_join_rdata(const uint8_t *rdata, size_t len, char *out, size_t cap);

/* "v=spf1" followed by a space or the end, case-insensitively (§4.5). */
bool spf_is_record(const char *text, size_t len);
bool spf_is_record_rdata(const uint8_t *rdata, size_t len);

enum spf_parse_status spf_parse(const char *text, size_t len, struct spf_record *rec);
enum spf_parse_status spf_parse_rdata(const uint8_t *rdata, size_t len, struct spf_record *rec);

/* name (n bytes) as the walker and its callback use it: lower-cased, one
 * trailing dot dropped, labels of 1..63 printable bytes, at most 253. */
bool spf_name_normalise(const char *name, size_t n, char *out, size_t cap);

/* The name term i looks up (its domain-spec or the current domain),
 * normalised as above. False for terms without one and for macro terms,
 * malformed names (empty or long labels, over 253 bytes), or no domain. */
bool spf_term_target(const struct spf_record *rec, unsigned i, const char *domain, char *out,
		     size_t cap);

/* The first DNS questions an evaluator asks for a record, in order
 * (§4.6.4): include/redirect: TXT of the target; a: A and AAAA; mx: MX
 * (its exchangers' A/AAAA need the answer); exists: A. ptr and macro
 * terms count toward the limit but ask nothing here; terms after "all"
 * are never evaluated; redirect is ignored when "all" is present. */
struct spf_question {
	uint16_t term; /* index in rec->terms */
	uint8_t nth;   /* the term's place among the record's counted terms, from 1 */
	uint16_t qtype;
	char name[SPF_NAME_MAX];
};

struct spf_plan {
	unsigned n;
	struct spf_question q[2 * SPF_MAX_DNS_TERMS];
	unsigned dns_terms; /* terms counted toward the limit, at most 10 */
	bool over_limit;    /* an 11th would be counted: permerror there */
};

void spf_plan(const struct spf_record *rec, const char *domain, struct spf_plan *plan);

/* What the walker's callback answers. rcode WIRE_NOERROR or WIRE_NXDOMAIN;
 * anything else is a failure (temperror). rr is valid until the next call. */
struct spf_rr {
	const uint8_t *data; /* TXT: one RDATA (length-prefixed strings); MX: exchanger text */
	size_t len;
};

struct spf_answer {
	int rcode;
	size_t count;		 /* TXT: RDATAs; MX: exchangers; A/AAAA: addresses */
	const struct spf_rr *rr; /* TXT and MX; unused for A/AAAA */
};

typedef void (*spf_lookup_fn)(void *arg, const char *name, uint16_t qtype, struct spf_answer *ans);

/* Where spf_answer_from_reply puts what it reads (SPF_REPLY_MAX_RR records). */
#define SPF_REPLY_MAX_RR 64
struct spf_reply_scratch {
	struct spf_rr rr[SPF_REPLY_MAX_RR];
	char mx[SPF_REPLY_MAX_RR][SPF_NAME_MAX]; /* exchanger names as text */
};

/* A DNS reply (pkt NULL: none, a failure) to qtype as a callback answers
 * it: the TXT RDATAs or MX exchangers of the final owner (after a CNAME
 * chain), or the number of A/AAAA records; ans->rr points into pkt and s. */
void spf_answer_from_reply(const uint8_t *pkt, size_t len, uint16_t qtype,
			   struct spf_reply_scratch *s, struct spf_answer *ans);

enum spf_result {
	SPF_R_NONE,
	SPF_R_NEUTRAL,
	SPF_R_PASS,
	SPF_R_FAIL,
	SPF_R_SOFTFAIL,
	SPF_R_TEMPERROR,
	SPF_R_PERMERROR,
};

enum spf_node_status {
	SPF_N_OK,	     /* evaluated, did not match */
	SPF_N_MATCH,	     /* matched: the record's result is its qualifier */
	SPF_N_SKIP_MACRO,    /* needs macro expansion: not followed */
	SPF_N_SKIP_PTR,	     /* deprecated, needs the client's address */
	SPF_N_NXDOMAIN,	     /* target does not exist */
	SPF_N_NO_RECORD,     /* target has no SPF record */
	SPF_N_MULTIPLE,	     /* target has more than one */
	SPF_N_BAD_RECORD,    /* target's record is a permerror */
	SPF_N_BAD_NAME,	     /* target name malformed */
	SPF_N_LOOP,	     /* target is being evaluated already */
	SPF_N_LIMIT_LOOKUPS, /* 11th DNS-querying term */
	SPF_N_LIMIT_VOID,    /* 3rd void lookup */
	SPF_N_LIMIT_MX,	     /* more than 10 exchangers */
	SPF_N_LIMIT_DEPTH,
	SPF_N_TEMPERROR, /* a lookup failed */
};

struct spf_lookup {
	char name[SPF_NAME_MAX];
	uint16_t qtype;
	uint8_t rcode;
	bool is_void; /* NXDOMAIN or no records */
	uint32_t count;
};

struct spf_node {
	uint8_t depth; /* 0: the top record's terms (and the root) */
	uint8_t kind;  /* enum spf_kind */
	uint8_t status;
	uint8_t dns_terms; /* running count after this node */
	uint8_t voids;	   /* running count after this node */
	uint16_t first_lookup, n_lookups;
	char text[SPF_NODE_TEXT]; /* the term as written; the root: the domain */
};

struct spf_walk {
	enum spf_result result;
	unsigned dns_terms, voids;
	const char *reason; /* first error: why (static text), else NULL */
	unsigned n_nodes, n_lookups;
	bool truncated; /* a bound was hit (cannot happen, see above) */
	struct spf_node nodes[SPF_WALK_MAX_NODES];
	struct spf_lookup lookups[SPF_WALK_MAX_LOOKUPS];
};

/* Evaluates domain's SPF tree depth first, left to right, as check_host
 * would for a client that only "all" and address-free "exists" can match.
 * A failed lookup marks its node temperror and the walk goes on (the rest
 * of the tree is still wanted); a permerror ends it. The result is the
 * first error met, else the evaluation's result. Terms that need macro
 * expansion (or, for ptr, the client's address) count toward the limit
 * but are not followed: such an include does not match, such a redirect
 * leaves the result neutral. max_depth is clamped to
 * SPF_MAX_DEPTH (0: SPF_MAX_DEPTH). */
void spf_walk(const char *domain, unsigned max_depth, spf_lookup_fn fn, void *arg,
	      struct spf_walk *w);

const char *spf_result_name(enum spf_result r);
const char *spf_kind_name(enum spf_kind k);
const char *spf_node_status_name(enum spf_node_status s);

#endif
