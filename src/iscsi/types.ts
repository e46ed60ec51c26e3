// What the iSCSI target needs from outside: the SCSI layer that executes
// commands, and the portals (host ports) it listens on.
import type { ScsiTarget } from '../scsi/target.js';
import type { IoCounters } from '../io/io-counters.js';

/** The SCSI layer as the transport uses it: ScsiTarget, or anything shaped like it. */
export type ScsiExecutor = Pick<ScsiTarget, 'execute' | 'taskManagement' | 'nexusCreated'>;

/** One host port of the array: an iSCSI network portal. */
export interface PortalConfig {
  host: string;
  port: number;
  /** Controller that owns the port: its ALUA target port group. */
  controller: number;
  /** iSCSI Target Portal Group Tag (1..65535). */
  portalGroupTag: number;
  /** SCSI relative target port identifier (1..65535, unique in the array). */
  relativeTargetPortId: number;
  /** The port's I/O counters (READ and WRITE commands of every connection), for metrics. */
  counters?: IoCounters;
}
