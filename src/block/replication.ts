// Replication pairs (MV → RV) on the data path, the public face of
// src/block/replication/: the engine (pairs, commands, intent log), the
// replicated device layer, the background copier and the pair state machine.
export { Replicator, replicationLayer } from './replication/engine.js';
export type { ReplicatorHooks } from './replication/engine.js';
export { Pair } from './replication/pair.js';
export type { ReplicationEvent } from './replication/pair.js';
export { nextState, transition, TRANSITIONS, SYNC_STATES } from './replication/pair-states.js';
export type { Activity, PairEvent, PairState, RvAccess, SyncState } from './replication/pair-states.js';
