// The I/O statistics slice of the agent contract: what each LD and each
// front-end port has done since the array started (src/io/io-counters.ts).
// Optional: an array that does not count (a remote agent of an older
// version) leaves it out, and the manager's metrics show no I/O series.
import type { IoSnapshot } from '../../io/io-counters.js';

export type { IoSnapshot } from '../../io/io-counters.js';

export interface LdIoStats {
  ld: string;
  number: number;
  pool: string;
  io: IoSnapshot;
}

export interface PortIoStats {
  /** "nbd" or "iscsi-<controller>-<relative target port id>". */
  port: string;
  protocol: 'nbd' | 'iscsi';
  /** The owning controller of an iSCSI port; null for NBD (served by the array as a whole). */
  controller: number | null;
  io: IoSnapshot;
}

export interface ArrayIoStats {
  lds: LdIoStats[];
  ports: PortIoStats[];
}

export interface IoStatsAgent {
  /** Counters since start of every live LD and every front-end port. */
  ioStats?(): ArrayIoStats;
}
