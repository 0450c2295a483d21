/*
 * asker: the daemon asking its own query engine, as the mail server would
 * (RD, AD set so the answer says whether it validated, EDNS without DO),
 * for the control commands that resolve through the cache (route, spf).
 * It reads and fills the same cache entries a client does.
 *
 * Replies are kept by query ID, an index in a table the asker allocates.
 * The owner hears that every question asked so far is answered from a
 * zero-delay timer, never from inside the engine's delivery, and is
 * freed only once it has finished and the engine has let go of it.
 */
#ifndef MXCACHE_ASKER_H
#define MXCACHE_ASKER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query.h"

struct asker_reply {
	uint8_t *pkt; /* NULL: not answered (yet), or lost: read as a failure */
	size_t len;
};

struct asker {
	struct query_client client; /* first: the engine hands it back */
	struct ev_loop *loop;
	struct query_engine *qe;
	ev_timer step;
	struct asker_reply *replies; /* by query ID */
	size_t nreplies;
	unsigned holds;	  /* references the engine holds */
	unsigned pending; /* questions asked, not answered yet */
	bool finished;
	/* Nothing is pending any more (asked again from here is fine). */
	void (*answered)(struct asker *a);
	/* Finished and let go of: the owner frees what embeds a. */
	void (*gone)(struct asker *a);
};

/* Room for n replies; false when memory runs out (nothing to undo). */
bool asker_init(struct asker *a, struct ev_loop *loop, struct query_engine *qe, size_t n,
		void (*answered)(struct asker *a), void (*gone)(struct asker *a));

/* Asks qtype for name (wire form) under query ID id (< n). A question
 * that cannot be asked counts as answered without a reply. */
void asker_ask(struct asker *a, uint16_t id, const uint8_t *name, size_t len, uint16_t qtype);

/* The owner is done: replies freed and gone called once the engine
 * holds no reference. */
void asker_finish(struct asker *a);

#endif
