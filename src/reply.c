/*
 * reply: see include/reply.h.
 */
#include "reply.h"

#include <string.h>

#include "wire_write.h"

size_t
reply_build(const struct wire_query *q, bool tcp, const struct reply_source *src,
	    reply_additional_fn additional, void *arg, uint8_t *out, size_t cap)
{
	if (!src->wire)
		return wire_error_reply(q, src->rcode, out, cap);

	size_t len = src->len;
	uint16_t flags = (uint16_t)(WIRE_QR | WIRE_RA | (wire_get16(src->wire + 2) & 0xfu) |
				    (q->flags & (WIRE_RD | WIRE_CD)));

	if (src->secure && (q->dnssec_ok || (q->flags & WIRE_AD)))
		flags |= WIRE_AD;
	memcpy(out, src->wire, len);
	wire_put16(out, q->id);
	wire_put16(out + 2, flags);
	if (len >= (size_t)WIRE_HEADER_LEN + q->qname_len)
		memcpy(out + WIRE_HEADER_LEN, q->qname, q->qname_len);
	if (src->age > 0)
		wire_age_ttls(out, len, src->age);
	size_t limit = wire_reply_limit(q, tcp) - (q->edns ? WIRE_OPT_LEN : 0);
	len = wire_truncate(out, len, limit);
	if (additional && !(wire_get16(out + 2) & WIRE_TC))
		len = additional(arg, q, out, len, limit);
	if (q->edns)
		len = wire_add_opt(out, len, cap, WIRE_MAX_UDP, q->dnssec_ok, 0);
	return len;
}
