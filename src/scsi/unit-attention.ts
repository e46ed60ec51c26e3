// Unit attention conditions (SAM-5 5.14, SPC-4 5.14): kept per logical unit and
// per I_T nexus, reported one at a time by the next command that is not INQUIRY,
// REPORT LUNS or REQUEST SENSE, or returned as sense data by REQUEST SENSE.
import { POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED, isSense } from './spec/sense.js';
import type { SenseCode } from './spec/sense.js';
import type { ItNexus } from './types.js';

/** The identity of an I_T nexus: initiator port and relative target port. */
export function nexusKey(n: ItNexus): string {
  return `${n.initiatorPort}|${n.relativeTargetPortId}`;
}

/** More than this many pending conditions for one nexus collapse into the oldest ones. */
const MAX_PENDING = 16;

export class UnitAttentions {
  /** Pending conditions per nexus key, oldest first. */
  private readonly pending = new Map<string, SenseCode[]>();
  /** Nexus keys that have been told about the last power on or reset of this LU. */
  private readonly seen = new Set<string>();

  /**
   * Called for every command: an I_T nexus the LU has not seen since it was
   * created (or since the transport said it was new) is due POWER ON, RESET,
   * OR BUS DEVICE RESET OCCURRED, which outranks anything queued before it.
   */
  notice(key: string): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.pending.set(key, [POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED]);
  }

  /** The nexus went away or came back new: it gets the power-on condition again on its next command. */
  forget(key: string): void {
    this.seen.delete(key);
    this.pending.delete(key);
  }

  /** Nexuses this LU knows about (for conditions established for all of them). */
  known(): string[] {
    return [...this.seen];
  }

  establish(key: string, code: SenseCode): void {
    let q = this.pending.get(key);
    if (!q) {
      q = [];
      this.pending.set(key, q);
    }
    if (q.some((c) => isSense(c, code))) return;
    // A reset condition (ASC 29h) supersedes the parameter changes queued before it (SAM-5 5.14).
    if (code.asc === POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED.asc) q.length = 0;
    if (q.length < MAX_PENDING) q.push(code);
  }

  /** Establishes the condition for every known nexus, or every one but `except`. */
  establishAll(code: SenseCode, except?: string): void {
    for (const k of this.seen) if (k !== except) this.establish(k, code);
  }

  has(key: string): boolean {
    return (this.pending.get(key)?.length ?? 0) > 0;
  }

  /** Removes and returns the condition to report next, if any. */
  take(key: string): SenseCode | undefined {
    const q = this.pending.get(key);
    if (!q || q.length === 0) return undefined;
    const v = q.shift();
    if (q.length === 0) this.pending.delete(key);
    return v;
  }

  /** Drops one particular condition (REPORT LUNS clears REPORTED LUNS DATA HAS CHANGED). */
  clear(key: string, code: SenseCode): void {
    const q = this.pending.get(key);
    if (!q) return;
    const i = q.findIndex((c) => isSense(c, code));
    if (i >= 0) q.splice(i, 1);
    if (q.length === 0) this.pending.delete(key);
  }

  peek(key: string): readonly SenseCode[] {
    return this.pending.get(key) ?? [];
  }
}
