// A model of what a disk must hold after a crash. Every 4 KiB unit written
// carries (unit, version) in its header and a fill derived from them, so a read
// tells exactly which write it came from. A unit's content after a crash must be
// the version that a completed flush covered, or a version written later; a
// unit that was never flushed may also read as zeros (never written or trimmed).
import crypto from 'node:crypto';

export const UNIT = 4096;
const MAGIC = 0x4b555241; // "KURA"

/** Version 0 means zeros (never written, trimmed or zeroed). */
export function unitContent(unit: number, version: number): Buffer {
  const b = Buffer.alloc(UNIT);
  if (version === 0) return b;
  b.writeUInt32LE(MAGIC, 0);
  b.writeUInt32LE(unit, 4);
  b.writeUInt32LE(version, 8);
  const seed = crypto.createHash('sha256').update(`${unit}:${version}`).digest();
  for (let o = 16; o < UNIT; o += 32) seed.copy(b, o, 0, Math.min(32, UNIT - o));
  return b;
}

/** The version a unit's bytes came from, or -1 if the bytes match no write (garbage or torn). */
export function versionOf(unit: number, b: Buffer): number {
  if (b.every((x) => x === 0)) return 0;
  if (b.readUInt32LE(0) !== MAGIC || b.readUInt32LE(4) !== unit) return -1;
  const v = b.readUInt32LE(8);
  return unitContent(unit, v).equals(b) ? v : -1;
}

export class CrashModel {
  /** Version a completed flush made durable, per unit (0: zeros). */
  private durable: Uint32Array;
  /** Versions issued since then: any of them may be what survived. */
  private since: Array<number[]>;
  /** Versions that wrote zeros (trim, write-zeroes). */
  private zeroVersions = new Set<number>([0]);
  private nextVersion = 1;
  /** Per unit, the last events that touched it, to explain a failed verification. */
  private history: Array<string[]>;
  /** Set by the test so the history says which round an event belongs to. */
  round = 0;

  constructor(readonly units: number) {
    this.durable = new Uint32Array(units);
    this.since = Array.from({ length: units }, () => []);
    this.history = Array.from({ length: units }, () => []);
  }

  private note(unit: number, event: string): void {
    const h = this.history[unit]!;
    h.push(`r${this.round}:${event}`);
    if (h.length > 12) h.shift();
  }

  /** A new version; `zero` for operations that make the unit read as zeros. */
  newVersion(zero = false): number {
    const v = this.nextVersion++;
    if (zero) this.zeroVersions.add(v);
    return v;
  }

  /** Record an operation as sent: from now on it may be what the disk holds. */
  issued(unit: number, version: number): void {
    this.since[unit]!.push(version);
    this.note(unit, `${this.zeroVersions.has(version) ? 'zero' : 'write'} ${version}`);
  }

  /** Record an operation as acknowledged by the server. */
  acked(unit: number, version: number): void {
    this.note(unit, `ack ${version}`);
  }

  /**
   * A flush completed. `acked` maps units to the last version acknowledged before
   * the flush was sent: that version is durable, and nothing older can reappear.
   */
  flushed(acked: Map<number, number>): void {
    for (const [unit, v] of acked) {
      this.durable[unit] = v;
      this.since[unit] = this.since[unit]!.filter((x) => x > v);
      this.note(unit, `flushed ${v}`);
    }
  }

  /** A problem with what was read back after a crash, or null when it is allowed. */
  verify(unit: number, b: Buffer): string | null {
    const v = versionOf(unit, b);
    if (v === -1) return `unit ${unit}: content matches no write (garbage or stale data)`;
    const candidates = [this.durable[unit]!, ...this.since[unit]!];
    const ok = v === 0 ? candidates.some((c) => this.zeroVersions.has(c)) : candidates.includes(v);
    if (ok) return null;
    return `unit ${unit}: read version ${v}, flushed version ${this.durable[unit]}, later candidates ${this.since[unit]!.join(',') || 'none'} (history: ${this.history[unit]!.join(' ')})`;
  }

  /** After verification the disk's content is the new truth. */
  settle(unit: number, b: Buffer): void {
    const v = versionOf(unit, b);
    if (v === 0) {
      this.durable[unit] = 0;
    } else {
      this.durable[unit] = v;
    }
    this.since[unit] = [];
    this.note(unit, `read ${v}`);
  }
}
