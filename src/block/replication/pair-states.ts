// The pair state machine: the seed's sync states, the events that move a pair
// between them, and the one function through which every change of sync state
// goes. A move the table does not hold is a bug in Kura, not a user error: it is
// refused loudly (KURA-E1100) and the state stays as it was.
import { PAIR_TRANSITION_ILLEGAL } from '../../catalogue/block.js';

export type Activity = 'replicate' | 'separate' | 'restore';
/** The seed's sync states: copying, in sync (mirroring), separating, separated, restoring, restored, fault. */
export type SyncState = 'rpl/exec' | 'rpl/sync' | 'sep/exec' | 'sep/end' | 'rst/exec' | 'rst/sync' | 'fault';
export type RvAccess = 'rw' | 'ro' | 'nr';

export interface PairState {
  activity: Activity;
  /** Changed only by transition(). */
  readonly sync: SyncState;
  /** The sync state before the last change (the seed's Previous Active). */
  readonly previous: SyncState | null;
  rvAccess: RvAccess;
  /** What the RV's access becomes when a pending separate completes. */
  sepAccess: 'rw' | 'ro';
  direction: 'mv-to-rv' | 'rv-to-mv';
  sepStart: string | null;
  sepEnd: string | null;
  /** Chunks the current (or last) copy had to copy, and has copied. */
  copyTotal: number;
  copied: number;
  /** The target of the last copy holds a complete image (false while copying, after a stopped copy, before the first). */
  complete: boolean;
  /** A mirrored write to the RV failed: the RV lacks writes the MV has, whatever the direction. */
  rvBroken?: boolean;
  created: string;
  fault: string | null;
}

/** What moves a pair: the operator's commands, the copier, failed I/O, a restart after a crash. */
export type PairEvent =
  /** kura pair replicate: copy MV → RV, or turn a finished restore into replication. */
  | 'replicate'
  /** kura pair separate: at once when in sync, after the running copy otherwise. */
  | 'separate'
  /** kura pair separate --force during a copy: stop it, leave the target incomplete. */
  | 'separate-force'
  /** kura pair restore: copy RV → MV, or turn a finished replicate into restore. */
  | 'restore'
  /** The background copy reached its end. */
  | 'copy-done'
  /** The background copy stopped on an error. */
  | 'copy-failed'
  /** A mirrored write to the RV failed. */
  | 'mirror-failed'
  /** Start after an unclean shutdown: a pair in sync copies the regions mirrored writes may have left different. */
  | 'recopy-after-crash';

export const SYNC_STATES: readonly SyncState[] = ['rpl/exec', 'rpl/sync', 'sep/exec', 'sep/end', 'rst/exec', 'rst/sync', 'fault'];
/** Writes to the MV reach the RV too. */
export const MIRRORING: ReadonlySet<SyncState> = new Set(['rpl/exec', 'rpl/sync', 'sep/exec', 'rst/exec', 'rst/sync']);
/** A background copy runs. */
export const COPYING: ReadonlySet<SyncState> = new Set(['rpl/exec', 'sep/exec', 'rst/exec']);

type Moves = Partial<Record<PairEvent, SyncState>>;

/**
 * (state, event) → next state. A command that leaves the state as it is (replicate of a
 * replicating pair) or that is refused with its own error (separate of a separated pair)
 * does not reach the table. The copier and failed I/O race the commands, hence the
 * entries for events arriving in a state a command just set (copy-failed in fault, a
 * mirrored write that was under way failing after separate).
 */
export const TRANSITIONS: Readonly<Record<SyncState, Moves>> = {
  'rpl/exec': { separate: 'sep/exec', 'separate-force': 'fault', 'copy-done': 'rpl/sync', 'copy-failed': 'fault', 'mirror-failed': 'fault' },
  'rpl/sync': { separate: 'sep/end', restore: 'rst/sync', 'mirror-failed': 'fault', 'recopy-after-crash': 'rpl/exec' },
  'sep/exec': { 'separate-force': 'fault', 'copy-done': 'sep/end', 'copy-failed': 'fault', 'mirror-failed': 'fault' },
  'sep/end': { replicate: 'rpl/exec', restore: 'rst/exec', 'mirror-failed': 'fault' },
  'rst/exec': { separate: 'sep/exec', 'separate-force': 'fault', 'copy-done': 'rst/sync', 'copy-failed': 'fault', 'mirror-failed': 'fault' },
  'rst/sync': { separate: 'sep/end', replicate: 'rpl/sync', 'mirror-failed': 'fault', 'recopy-after-crash': 'rst/exec' },
  fault: { replicate: 'rpl/exec', restore: 'rst/exec', 'separate-force': 'fault', 'copy-failed': 'fault' },
};

/** The state the event leads to from `from`, or undefined when the table has no such move. */
export function nextState(from: SyncState, event: PairEvent): SyncState | undefined {
  return TRANSITIONS[from][event];
}

/**
 * Moves the pair's sync state on the event, keeping the state it left as `previous`
 * (staying in the same state keeps `previous`). `pair` names the pair in the error.
 */
export function transition(state: PairState, event: PairEvent, pair: string): SyncState {
  const from = state.sync;
  const to = nextState(from, event);
  if (to === undefined) {
    throw PAIR_TRANSITION_ILLEGAL({ pair, event, from });
  }
  // The one place that writes the sync state (PairState marks it readonly for everyone else).
  const s = state as { sync: SyncState; previous: SyncState | null };
  if (to !== from) s.previous = from;
  s.sync = to;
  return to;
}
