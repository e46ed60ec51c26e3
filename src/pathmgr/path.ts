// One path: an I_T_L nexus (portal, target, LUN) over its own iSCSI session,
// with its state, priority, ALUA state, flapping history and I/O statistics.
// States and the transitions allowed between them are explicit; anything
// else is a bug and throws.
import { InitiatorSession } from '../iscsi/initiator-session.js';
import type { AluaState } from '../scsi/spec/alua.js';

/** A path's ALUA state as pathd last read it; unknown until REPORT TARGET PORT GROUPS answered. */
export type PathAluaState = AluaState | 'unknown';

/**
 * in-use: carries I/O now. active: healthy, may be chosen. standby: its
 * priority is disabled (by the administrator or a standby failback); used only
 * when no active path is left. failed: an I/O or patrol check failed on it.
 * unavailable: held out of use (set by the administrator, or a marginal path
 * waiting until it has been stable long enough).
 */
export type PathState = 'in-use' | 'active' | 'standby' | 'failed' | 'unavailable';

const ALLOWED: Record<PathState, PathState[]> = {
  'in-use': ['active', 'standby', 'failed', 'unavailable'],
  active: ['in-use', 'standby', 'failed', 'unavailable'],
  standby: ['in-use', 'active', 'failed', 'unavailable'],
  failed: ['active', 'standby', 'unavailable'],
  unavailable: ['active', 'standby', 'failed'],
};

export function canTransition(from: PathState, to: PathState): boolean {
  return from === to || ALLOWED[from].includes(to);
}

export interface PathStats {
  reads: number;
  writes: number;
  readBytes: number;
  writeBytes: number;
  otherCommands: number;
  errors: number;
  failures: number;
  /** Exponentially weighted mean service time of the last commands, in ms. */
  serviceTimeMs: number;
}

export class Path {
  state: PathState = 'active';
  /** Why the path is failed/unavailable, for show and logs. */
  reason = '';
  alua: PathAluaState = 'unknown';
  relativeTargetPortId: number | undefined;
  targetPortGroup: number | undefined;
  /**
   * Its priority is disabled (the seed's standby "@"): a path found after the first,
   * `kura path set ... standby` (-notavail), or a standby failback. Such a path carries
   * I/O only while no enabled one can (it is then shown in use).
   */
  priorityDisabled = false;
  /** Set by the administrator (`kura path set ... unavailable`): patrol leaves it alone. */
  adminUnavailable = false;
  /** A flapping path: kept unavailable until it has been healthy for a while. */
  marginal = false;
  /**
   * Its LUN no longer holds the device's logical unit (the LD was deleted, maybe
   * another took its LUN): kept unavailable for good, so no I/O reaches that LU.
   */
  identityLost = false;
  /** Times this path failed recently (for flapping detection). */
  readonly failureTimes: number[] = [];
  /** When the path last became healthy again. */
  healthySince = Date.now();
  lastIo = 0;
  /** The seed's path index inside its logical unit ("> 0: Priority=..."), in the order paths were found. */
  index = 0;
  /** Why the last recovery check could not bring the path back (logged once per reason). */
  failbackError = '';
  readonly stats: PathStats = { reads: 0, writes: 0, readBytes: 0, writeBytes: 0, otherCommands: 0, errors: 0, failures: 0, serviceTimeMs: 0 };

  constructor(
    /** The seed-style path number "portal:0:target:lun". */
    readonly number: string,
    readonly portal: string,
    readonly target: string,
    readonly lun: number,
    readonly session: InitiatorSession,
    public priority: number,
  ) {}

  get inflight(): number {
    return this.session.inflight;
  }

  setState(to: PathState, reason = ''): PathState {
    const from = this.state;
    if (!canTransition(from, to)) throw new Error(`path ${this.number}: no transition from ${from} to ${to}`);
    this.state = to;
    this.reason = reason;
    return from;
  }

  /** Usable for I/O at all (in-use, active or standby). */
  get usable(): boolean {
    return this.state === 'in-use' || this.state === 'active' || this.state === 'standby';
  }

  noteServiceTime(ms: number): void {
    this.stats.serviceTimeMs = this.stats.serviceTimeMs === 0 ? ms : this.stats.serviceTimeMs * 0.8 + ms * 0.2;
  }

  /** ALUA rank: lower is better (optimized first; standby/unavailable ports cannot do I/O). */
  get aluaRank(): number {
    switch (this.alua) {
      case 'active/optimized':
        return 0;
      case 'unknown':
        return 1;
      case 'active/non-optimized':
        return 2;
      case 'transitioning':
        return 3;
      default:
        return 4;
    }
  }
}
