/* Private to metadata/rsm.c and its tests: the state machine half alone (no loop, no libraft
 * instance of its own), so raft/fixture.h can drive it deterministically. */
#ifndef GL_RSM_INTERNAL_H
#define GL_RSM_INTERNAL_H

#include <raft.h>

#include "metadata/rsm.h"

/* Opens cfg->dir's database and returns the FSM to hand to raft_fixture_grow. Snapshots are
 * fetched with cfg->fetch (required here). */
int gl_rsm_fsm_open(const struct gl_rsm_cfg *cfg, struct raft_fsm **fsm, struct gl_rsm **out);
/* The raft instance that runs this FSM (the fixture's, after raft_fixture_grow). */
void gl_rsm_fsm_bind(struct gl_rsm *r, struct raft *raft);
void gl_rsm_fsm_close(struct gl_rsm *r);

#endif
