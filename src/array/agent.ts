// The array agent contract: everything the manager may ask of a disk array.
// In the embedded server the manager holds the KuraArray object directly; a
// remote array puts an HTTP/JSON client behind the same interface. Each noun
// declares its slice next to its service (src/array/<noun>/agent.ts), and the
// contract holds one slice per noun, answered by that noun's service; this file
// joins them and re-exports their types for the agent's users.
import type { ControllerAgent } from './controllers/agent.js';
import type { EventAgent } from './events/agent.js';
import type { HostAgent, TargetAgent } from './hosts/agent.js';
import type { LdAgent } from './lds/agent.js';
import type { LicenseAgent } from './licenses/agent.js';
import type { LockAgent } from './lock/agent.js';
import type { PairAgent } from './pairs/agent.js';
import type { PoolAgent } from './pools/agent.js';
import type { QosAgent } from './qos/agent.js';
import type { CloneAgent, SnapshotAgent } from './snapshots/agent.js';
import type { ArrayIoStats } from './stats/agent.js';
import type { VvolLdAgent } from './vvols/agent.js';

export type * from './controllers/agent.js';
export type * from './events/agent.js';
export type * from './hosts/agent.js';
export type * from './lds/agent.js';
export type * from './licenses/agent.js';
export type * from './lock/agent.js';
export type * from './pairs/agent.js';
export type * from './pools/agent.js';
export type * from './qos/agent.js';
export type * from './snapshots/agent.js';
export type * from './stats/agent.js';
export type * from './vvols/agent.js';

export interface ArrayInfo {
  name: string;
  serial: string;
  version: string;
  controllers: number[];
  /** Memory the array holds for metadata, and the process's own figures. */
  memory: {
    mapPages: number;
    /** Bytes of in-memory metadata: map pages, top-level maps and chunk refcounts. */
    metadataBytes: number;
    rss: number;
    heapUsed: number;
  };
}

/** The contract, keyed by noun: `agent.pools.createPool(req)`, `agent.hosts.mapLun(...)`. */
export interface ArrayAgent {
  pools: PoolAgent;
  lds: LdAgent;
  snapshots: SnapshotAgent;
  clones: CloneAgent;
  qos: QosAgent;
  licenses: LicenseAgent;
  hosts: HostAgent;
  target: TargetAgent;
  controllers: ControllerAgent;
  pairs: PairAgent;
  lock: LockAgent;
  events: EventAgent;
  vvols: VvolLdAgent;
  info(): ArrayInfo;
  /** I/O counters since start of every live LD and front-end port (src/array/stats); optional. */
  ioStats?(): ArrayIoStats;
}
