/*
 * servfail: see include/servfail.h.
 */
#include "servfail.h"

#include <stdio.h>

#include "cache.h"
#include "clock.h"
#include "log.h"
#include "wire.h"

void
servfail_format(const struct cache_key *key, enum stats_servfail why, const char *detail,
		size_t clients, char *buf, size_t len)
{
	char name[WIRE_NAME_TEXT_MAX], type[16];
	const char *tname = wire_type_name(key->qtype);

	if (!wire_name_to_text(key->name, key->name_len, name, sizeof(name)))
		snprintf(name, sizeof(name), "(unprintable)");
	if (!tname) {
		snprintf(type, sizeof(type), "TYPE%u", (unsigned)key->qtype);
		tname = type;
	}
	snprintf(buf, len, "SERVFAIL %s %s%s: %s [%s]%s%s, %zu client%s", name, tname,
		 (key->flags & CACHE_KEY_CD) ? " (CD)" : "", stats_servfail_reason(why),
		 stats_servfail_name(why), detail ? ": " : "", detail ? detail : "", clients,
		 clients == 1 ? "" : "s");
}

void
servfail_note(void *arg, const struct cache_key *key, enum stats_servfail why, const char *detail,
	      size_t clients)
{
	struct servfail_log *sl = arg;
	uint64_t second = clock_us() / 1000000u;
	char line[WIRE_NAME_TEXT_MAX + 512];

	if (!sl->enabled)
		return;
	if (second != sl->second) {
		sl->second = second;
		sl->lines = 0;
	}
	if (sl->lines >= SERVFAIL_LOG_PER_SEC) {
		sl->skipped++;
		return;
	}
	sl->lines++;
	servfail_format(key, why, detail, clients, line, sizeof(line));
	if (sl->skipped)
		log_warn("%s (and %llu more not logged)", line, (unsigned long long)sl->skipped);
	else
		log_warn("%s", line);
	sl->skipped = 0;
}
