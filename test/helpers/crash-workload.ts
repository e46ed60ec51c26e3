// The workload the crash tests run against an LD over NBD while the server is
// killed: writers, trims and flushes on the units a CrashModel tracks, and the
// read-back that checks what survived. Each test gives the shape of its load
// (how many writers, how often a trim or FUA, how large a write).
import type { NbdClient } from '../../src/nbd/client.js';
import type { CrashModel } from './versioned-blocks.js';
import { UNIT, unitContent } from './versioned-blocks.js';

export function rand(n: number): number {
  return Math.floor(Math.random() * n);
}

export interface WorkloadShape {
  /** Units the model covers, from offset 0. */
  units: number;
  /** Units per chunk of the pool: a trim frees whole chunks, so the map (not just the data) must survive. */
  chunkUnits: number;
  /** Writers running at once. */
  writers: number;
  /** One operation in this many is a trim. */
  trimOneIn: number;
  /** A trim covers 1 to this many whole chunks. */
  maxTrimChunks: number;
  /** Units a write covers (called for every write). */
  writeUnits(): number;
  /** One write in this many carries FUA: FUA commits everything dirty, so it stays rare or it hides a broken flush. */
  fuaOneIn: number;
  /** A flush every 2 + rand(flushJitterMs) ms. */
  flushJitterMs: number;
}

/**
 * Runs writes, trims and flushes until the connection dies or `ms` have passed.
 * No two operations on the same unit are in flight at once, so each unit's
 * history is ordered. `extra` tasks (snapshots, ...) run alongside while
 * `running()` says so.
 */
export async function crashWorkload(
  client: NbdClient,
  model: CrashModel,
  shape: WorkloadShape,
  ms: number,
  extra: Array<(running: () => boolean) => Promise<void>> = [],
): Promise<void> {
  const busy = new Uint8Array(shape.units);
  /** Last version acknowledged per unit since the last flush was sent. */
  let acked = new Map<number, number>();
  const end = Date.now() + ms;
  let dead = false;
  const running = () => !dead && Date.now() < end;
  const chunks = shape.units / shape.chunkUnits;

  async function writer(): Promise<void> {
    while (running()) {
      const trim = rand(shape.trimOneIn) === 0;
      const trimChunks = 1 + rand(shape.maxTrimChunks);
      const len = trim ? shape.chunkUnits * trimChunks : shape.writeUnits();
      const first = trim ? shape.chunkUnits * rand(chunks - trimChunks + 1) : rand(shape.units - len);
      let free = true;
      for (let u = first; u < first + len; u++) if (busy[u]) free = false;
      if (!free) {
        // Let the writer holding those units finish.
        await new Promise((r) => setImmediate(r));
        continue;
      }
      for (let u = first; u < first + len; u++) busy[u] = 1;
      const versions: number[] = [];
      const buf = Buffer.allocUnsafe(len * UNIT);
      for (let i = 0; i < len; i++) {
        const v = model.newVersion(trim);
        versions.push(v);
        model.issued(first + i, v);
        if (!trim) unitContent(first + i, v).copy(buf, i * UNIT);
      }
      try {
        if (trim) await client.trim(first * UNIT, len * UNIT);
        else await client.write(first * UNIT, buf, { fua: rand(shape.fuaOneIn) === 0 });
        for (let i = 0; i < len; i++) {
          acked.set(first + i, versions[i]!);
          model.acked(first + i, versions[i]!);
        }
      } catch {
        dead = true;
      } finally {
        for (let u = first; u < first + len; u++) busy[u] = 0;
      }
    }
  }

  async function flusher(): Promise<void> {
    while (running()) {
      await new Promise((r) => setTimeout(r, 2 + rand(shape.flushJitterMs)));
      const covered = acked;
      acked = new Map();
      try {
        await client.flush();
        model.flushed(covered);
      } catch {
        dead = true;
      }
    }
  }

  await Promise.all([...Array.from({ length: shape.writers }, () => writer()), flusher(), ...extra.map((task) => task(running))]);
}

/** Checks each unit of `data` (read from offset 0) against the model; returns what is wrong, and settles what is right. */
export function checkUnits(model: CrashModel, data: Buffer): string[] {
  const problems: string[] = [];
  for (let u = 0; u < data.length / UNIT; u++) {
    const b = data.subarray(u * UNIT, (u + 1) * UNIT);
    const p = model.verify(u, b);
    if (p) problems.push(p);
    else model.settle(u, b);
  }
  return problems;
}
