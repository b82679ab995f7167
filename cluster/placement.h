/* Placement: which data servers hold the fragments of a chunk, computed by every party from the
 * cluster map alone (no per-chunk table).
 *
 * For slot i (fragment i) of chunk c, each server s gets a weighted rendezvous score
 *     score_i(s) = weight(s) / -ln(u),   u = xxh64(c, pool, i, s.id) mapped into (0, 1)
 * with weight = cap_total. Slots are filled in order 0..width-1; slot i takes, among servers not
 * yet chosen, the one that minimises (servers already chosen in its rack, servers already chosen
 * in its host) and then maximises score_i. So no two fragments share a rack when there are enough
 * racks, nor a host when there are enough hosts; otherwise they spread as evenly as they can.
 *
 * Slots are first filled over every server in the map, whatever its state: a server that goes
 * DOWN or OUT keeps its slots, so no other fragment moves. Then each slot held by an OUT server is
 * given to a replacement chosen by the same rule among the non-OUT servers. DOWN servers keep
 * their slots (writes for them go to handoffs; they are rebuilt only once OUT).
 *
 * Handoffs: the non-OUT servers not in a slot, by descending score_0, at most GL_MAX_HANDOFF.
 * Writers put a fragment whose slot server is not UP on the first unused UP handoff; readers look
 * there when a slot server lacks a fragment; repair moves it home.
 */
#ifndef GL_PLACEMENT_H
#define GL_PLACEMENT_H

#include <stdint.h>

#include "cluster/map.h"
#include "storage/stripe.h"

#define GL_MAX_HANDOFF 8

struct gl_placement {
	int width;
	int slot[GL_MAX_WIDTH]; /* index into map->ds; -1 when the map has too few servers */
	int nhandoff;
	int handoff[GL_MAX_HANDOFF]; /* index into map->ds */
};

/* width = gl_scheme_width(). Returns 0, or -GL_EUNAVAIL if the map has no non-OUT server. */
int gl_place(const struct gl_map *m, uint32_t pool, const uint8_t chunk[GL_CHUNK_ID_LEN], int width,
	     struct gl_placement *out);

#endif
