// An iSCSI session (RFC 7143 4.2): its identity (InitiatorName, ISID, TSIH,
// portal group), the I_T nexus it is to the SCSI layer, the command numbering
// window, and the tasks in flight. Commands are delivered to the connection in
// CmdSN order; a command outside the window is dropped silently (RFC 7143
// 4.2.2.1), one ahead of ExpCmdSN waits for the gap to fill.
import { GOOD, READ_CAPACITY_10, SAI_READ_CAPACITY_16, SERVICE_ACTION_IN_16 } from '../scsi/spec/index.js';
import type { ItNexus, ScsiResponse } from '../scsi/types.js';
import type { Connection } from './connection.js';
import type { NegotiatedParams } from './params.js';
import { snAdd, snLe, snLt } from './pdu.js';
import type { Task } from './task.js';

/** Commands (CmdSN window) a session may have outstanding. */
export const QUEUE_DEPTH = 128;

export type SessionState = 'active' | 'closing' | 'closed';

export interface SessionIdentity {
  initiatorName: string;
  isid: Buffer;
  tsih: number;
  targetName: string;
  portalGroupTag: number;
}

export class Session {
  readonly initiatorName: string;
  readonly isid: Buffer;
  readonly tsih: number;
  readonly portalGroupTag: number;
  readonly targetName: string;
  readonly type: NegotiatedParams['sessionType'];
  readonly params: NegotiatedParams;
  readonly nexus: ItNexus;
  state: SessionState = 'active';

  expCmdSN: number;
  /** Commands received (ExpCmdSN passed them) whose response has not gone out. */
  active = 0;
  /** Non-immediate requests that arrived ahead of ExpCmdSN, by CmdSN. */
  private readonly waiting = new Map<number, () => void>();
  /** CmdSNs an ABORT TASK named before they arrived: they are consumed without running. */
  private readonly skipped = new Set<number>();
  /** Tasks by Initiator Task Tag. */
  readonly tasks = new Map<number, Task>();
  /** Highest MaxCmdSN announced: it never moves back. */
  private maxAnnounced: number;
  /** Block size per LUN, as the last READ CAPACITY through this session reported it. */
  private readonly blockSizes = new Map<number, number>();
  /** The connection the session runs on (one: MaxConnections=1). */
  connection: Connection | undefined;

  constructor(id: SessionIdentity, params: NegotiatedParams, cmdSN: number, nexus: ItNexus) {
    this.initiatorName = id.initiatorName;
    this.isid = id.isid;
    this.tsih = id.tsih;
    this.targetName = id.targetName;
    this.portalGroupTag = id.portalGroupTag;
    this.type = params.sessionType;
    this.params = params;
    this.nexus = nexus;
    this.expCmdSN = cmdSN >>> 0;
    this.maxAnnounced = snAdd(this.expCmdSN, QUEUE_DEPTH - 1);
  }

  get isidHex(): string {
    return this.isid.toString('hex');
  }

  /** The session's key for reinstatement: the same initiator, ISID and portal group. */
  static key(initiatorName: string, isid: Buffer, portalGroupTag: number): string {
    return `${initiatorName.toLowerCase()}|${isid.toString('hex')}|${portalGroupTag}`;
  }

  get key(): string {
    return Session.key(this.initiatorName, this.isid, this.portalGroupTag);
  }

  /** MaxCmdSN: the window closes as commands pile up and reopens as they complete. */
  get maxCmdSN(): number {
    const free = Math.max(0, QUEUE_DEPTH - this.active - this.waiting.size);
    const m = snAdd(this.expCmdSN, free - 1);
    if (snLt(this.maxAnnounced, m)) this.maxAnnounced = m;
    return this.maxAnnounced;
  }

  /**
   * Delivers a request in CmdSN order. Immediate requests run at once and do
   * not advance ExpCmdSN. Returns false when the request was dropped.
   */
  deliver(cmdSN: number, immediate: boolean, run: () => void): boolean {
    if (immediate) {
      run();
      return true;
    }
    cmdSN >>>= 0;
    if (cmdSN === this.expCmdSN) {
      this.advance();
      run();
      this.drain();
      return true;
    }
    if (snLt(this.expCmdSN, cmdSN) && snLe(cmdSN, this.maxAnnounced) && !this.waiting.has(cmdSN)) {
      this.waiting.set(cmdSN, run);
      return true;
    }
    return false;
  }

  private advance(): void {
    this.expCmdSN = snAdd(this.expCmdSN, 1);
    // A CmdSN aborted before it arrived counts as received (RFC 7143 11.5.1).
    while (this.skipped.delete(this.expCmdSN)) this.expCmdSN = snAdd(this.expCmdSN, 1);
  }

  private drain(): void {
    for (;;) {
      const run = this.waiting.get(this.expCmdSN);
      if (!run) return;
      this.waiting.delete(this.expCmdSN);
      this.advance();
      run();
    }
  }

  /**
   * ABORT TASK for a task that has not arrived: if its CmdSN is still ahead in
   * the window, it will be consumed without running. Returns whether it was.
   */
  skipCmdSN(cmdSN: number): boolean {
    cmdSN >>>= 0;
    if (!snLe(this.expCmdSN, cmdSN) || !snLe(cmdSN, this.maxAnnounced)) return false;
    this.waiting.delete(cmdSN);
    if (cmdSN === this.expCmdSN) {
      this.advance();
      this.drain();
    } else this.skipped.add(cmdSN);
    return true;
  }

  blockSize(lun: number): number | undefined {
    return this.blockSizes.get(lun);
  }

  /** Notes the block size a READ CAPACITY(10)/(16) answer carries (for write residuals). */
  learnBlockSize(lun: number, cdb: Buffer, res: ScsiResponse): void {
    if (res.status !== GOOD || !res.dataIn) return;
    let bs: number | undefined;
    if (cdb[0] === READ_CAPACITY_10 && res.dataIn.length >= 8) bs = res.dataIn.readUInt32BE(4);
    else if (cdb[0] === SERVICE_ACTION_IN_16 && (cdb[1]! & 0x1f) === SAI_READ_CAPACITY_16 && res.dataIn.length >= 12) bs = res.dataIn.readUInt32BE(8);
    if (bs !== undefined && bs >= 512 && bs <= 1 << 20) this.blockSizes.set(lun, bs);
  }

  /** Forgets what was queued (the session is ending). */
  clearQueue(): void {
    this.waiting.clear();
    this.skipped.clear();
  }
}
