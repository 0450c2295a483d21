/*
 * wire: reading the DNS wire format (RFC 1035, RFC 6891).
 *
 * Strict parsing of client queries, names, walking the records of a
 * response and what the daemon reads from it (TTLs, CNAME chain, MX list).
 * Writing and editing messages is wire_write.h. No allocation, no logging.
 *
 * Every function here costs at most a small constant per byte of the
 * message it reads: a name costs at most WIRE_MAX_NAME bytes and
 * WIRE_MAX_POINTERS pointer hops, whatever the message does.
 */
#ifndef MXCACHE_WIRE_H
#define MXCACHE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_HEADER_LEN 12
#define WIRE_MAX_NAME 255
#define WIRE_MAX_LABEL 63
#define WIRE_MAX_MSG 65535
#define WIRE_OPT_LEN 11 /* an OPT record without options */
#define WIRE_MIN_UDP 512
#define WIRE_MAX_UDP 1232	/* DNS flag day 2020 default */
#define WIRE_NAME_TEXT_MAX 1024 /* presentation form, worst case \DDD escapes */
#define WIRE_PTR_MASK 0xc0u
#define WIRE_MAX_PTR_TARGET 0x3fffu
/* Pointer hops in one name: an encoder points at most once per label (127)
 * and once more at the root; more is a chain built to make readers slow. */
#define WIRE_MAX_POINTERS 128
#define WIRE_EDNS_DO 0x8000u
#define WIRE_MX_MAX 64 /* most entries wire_mx_list fills */

/* Header flags, as they sit in the 16-bit flags word. */
#define WIRE_QR 0x8000u
#define WIRE_AA 0x0400u
#define WIRE_TC 0x0200u
#define WIRE_RD 0x0100u
#define WIRE_RA 0x0080u
#define WIRE_AD 0x0020u
#define WIRE_CD 0x0010u
#define WIRE_OPCODE(flags) (((flags) >> 11) & 0xfu)
#define WIRE_RCODE(flags) ((flags)&0xfu)

enum wire_rcode {
	WIRE_NOERROR = 0,
	WIRE_FORMERR = 1,
	WIRE_SERVFAIL = 2,
	WIRE_NXDOMAIN = 3,
	WIRE_NOTIMP = 4,
	WIRE_REFUSED = 5,
	WIRE_BADVERS = 16, /* extended: needs an OPT record */
};

enum wire_type {
	WIRE_T_A = 1,
	WIRE_T_NS = 2,
	WIRE_T_MD = 3,
	WIRE_T_MF = 4,
	WIRE_T_CNAME = 5,
	WIRE_T_SOA = 6,
	WIRE_T_MB = 7,
	WIRE_T_MG = 8,
	WIRE_T_MR = 9,
	WIRE_T_PTR = 12,
	WIRE_T_MINFO = 14,
	WIRE_T_MX = 15,
	WIRE_T_TXT = 16,
	WIRE_T_AAAA = 28,
	WIRE_T_SRV = 33,
	WIRE_T_OPT = 41,
	WIRE_T_DS = 43,
	WIRE_T_DNAME = 39,
	WIRE_T_RRSIG = 46,
	WIRE_T_NSEC = 47,
	WIRE_T_DNSKEY = 48,
	WIRE_T_NSEC3 = 50,
	WIRE_T_TLSA = 52,
	WIRE_T_IXFR = 251,
	WIRE_T_AXFR = 252,
	WIRE_T_MAILB = 253,
	WIRE_T_MAILA = 254,
	WIRE_T_ANY = 255,
};

#define WIRE_CLASS_IN 1

enum wire_section { WIRE_ANSWER = 0, WIRE_AUTHORITY = 1, WIRE_ADDITIONAL = 2 };

/* What wire_parse_query concluded about a packet. */
enum wire_verdict {
	WIRE_OK,	  /* a well-formed standard query */
	WIRE_DROP,	  /* not worth an answer: no header, or a response */
	WIRE_BAD_FORMAT,  /* answer FORMERR */
	WIRE_BAD_OPCODE,  /* answer NOTIMP */
	WIRE_BAD_VERSION, /* answer BADVERS */
};

struct wire_query {
	uint16_t id;
	uint16_t flags;
	uint16_t qtype;
	uint16_t qclass;
	uint16_t qname_len;	      /* uncompressed wire length, 0 if no question */
	uint8_t qname[WIRE_MAX_NAME]; /* as the client sent it, case kept */
	bool edns;
	bool dnssec_ok;
	uint16_t udp_size; /* as advertised, before any clamping */
};

enum wire_verdict wire_parse_query(const uint8_t *pkt, size_t len, struct wire_query *q);

/* Largest reply the client can take: 512 without EDNS, its size clamped to
 * [512, 1232] with EDNS, the 16-bit maximum over TCP. */
size_t wire_reply_limit(const struct wire_query *q, bool tcp);

/*
 * Reads the possibly compressed name at *off, stores its uncompressed form
 * in out (if not NULL, WIRE_MAX_NAME bytes) and moves *off past it.
 * Pointers must point strictly backwards, so loops cannot happen, and
 * there are at most WIRE_MAX_POINTERS of them. Returns the uncompressed length, or 0 if the name is
 * malformed.
 */
size_t wire_name_read(const uint8_t *pkt, size_t len, size_t *off, uint8_t *out);

/* wire_name_read, also storing where each label sits in the message
 * (pointers followed) in at (WIRE_MAX_LABELS entries) and their number in
 * *labels; at and labels are both NULL or both not. pkt must be at most
 * WIRE_MAX_MSG bytes long. */
#define WIRE_MAX_LABELS 127
size_t wire_name_read_labels(const uint8_t *pkt, size_t len, size_t *off, uint8_t *out,
			     uint16_t *at, size_t *labels);

static inline uint8_t
wire_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* Is the (possibly compressed) name at off equal to name, case aside?
 * Stops at the first difference, and is false for a malformed name. */
bool wire_name_at(const uint8_t *pkt, size_t len, size_t off, const uint8_t *name, size_t name_len);

/* A hash of the name that ignores case (FNV-1a). */
uint32_t wire_name_hash(const uint8_t *name, size_t len);

void wire_name_lower(uint8_t *name, size_t len);
bool wire_name_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* Presentation form ("mx1.example.com."), escaping as RFC 1035 §5.1 does;
 * returns false if cap is too small. */
bool wire_name_to_text(const uint8_t *name, size_t len, char *out, size_t cap);

/* Parses presentation form into wire form; returns the length or 0. */
size_t wire_name_from_text(const char *text, uint8_t *out);

/* "NOERROR", "NXDOMAIN", ...; NULL for codes without a common name. */
const char *wire_rcode_name(unsigned rcode);

/* Mnemonic of a type ("MX"), or NULL for types without a common name. */
const char *wire_type_name(uint16_t type);

/* "MX", "mx", "TYPE15" or "15"; -1 if unknown. */
int wire_type_from_name(const char *name);

/* One resource record found by the iterator; offsets index the packet. */
struct wire_rr {
	enum wire_section section;
	size_t name_off;
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	size_t ttl_off;
	size_t rdata_off;
	uint16_t rdlen;
	size_t end;
};

struct wire_iter {
	const uint8_t *pkt;
	size_t len;
	size_t off;
	uint16_t left[3];
	enum wire_section section;
};

/* Positions the iterator after the question; false if the header or the
 * question is malformed. */
bool wire_iter_init(struct wire_iter *it, const uint8_t *pkt, size_t len);

/* 1: *rr filled; 0: no more records; -1: malformed. */
int wire_iter_next(struct wire_iter *it, struct wire_rr *rr);

/* Smallest TTL in the answer and authority sections; false if none. */
bool wire_min_ttl(const uint8_t *pkt, size_t len, uint32_t *ttl);

/* RFC 2308 §5: min(SOA TTL, SOA MINIMUM) of the authority SOA. */
bool wire_negative_ttl(const uint8_t *pkt, size_t len, uint32_t *ttl);

/* Follows the CNAME chain from the question name through the answer
 * section, in message order (the order resolvers write a chain in);
 * stores the final owner name in out and returns its length (0 if the
 * message is malformed). */
size_t wire_answer_owner(const uint8_t *pkt, size_t len, uint8_t out[WIRE_MAX_NAME]);

struct wire_mx {
	uint16_t preference;
	uint16_t name_len;
	size_t name_off; /* where the exchange name sits in the message */
	uint8_t name[WIRE_MAX_NAME];
};

/* The MX records of owner in the answer section, lowest preference first
 * (message order among equals). Fills at most max entries, and never more
 * than WIRE_MX_MAX (the most preferred); returns how many MX records owner
 * has in all. */
size_t wire_mx_list(const uint8_t *pkt, size_t len, const uint8_t *owner, size_t owner_len,
		    struct wire_mx *out, size_t max);

/* An answer in the cache's stored form for the question name/qtype/qclass:
 * a standard response to that very question that walks to its last byte,
 * rcode NOERROR or NXDOMAIN, no OPT. NULL if so, else what is wrong;
 * *negative: NXDOMAIN or an empty answer section. */
const char *wire_check_stored(const uint8_t *msg, size_t len, const uint8_t *name, size_t name_len,
			      uint16_t qtype, uint16_t qclass, bool *negative);

static inline uint16_t
wire_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t
wire_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void
wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
wire_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint64_t
wire_get64(const uint8_t *p)
{
	return ((uint64_t)wire_get32(p) << 32) | wire_get32(p + 4);
}

static inline void
wire_put64(uint8_t *p, uint64_t v)
{
	wire_put32(p, (uint32_t)(v >> 32));
	wire_put32(p + 4, (uint32_t)v);
}

#endif
