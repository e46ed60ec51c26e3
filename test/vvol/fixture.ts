// A provider on the in-memory array with its store in a temporary directory.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KuraError } from '../../src/errors.js';
import { VvolProvider } from '../../src/vvol/provider.js';
import { VvolStore } from '../../src/vvol/store.js';
import type { TaskInfo } from '../../src/vvol/tasks.js';
import { MemoryArray } from './memory-array.js';

export const GiB = 2 ** 30;
export const TiB = 2 ** 40;

export interface Fixture {
  array: MemoryArray;
  provider: VvolProvider;
  store: VvolStore;
  dir: string;
  /** Pool number of the container "sc0". */
  sc0: number;
  /** Closes the store and opens a new provider on the same file and array. */
  reopen(): VvolProvider;
}

export function fixture(t: { after(fn: () => void): void }, opts: { maxConcurrentOps?: number } = {}): Fixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-vvol-'));
  const array = new MemoryArray();
  const sc0 = array.addPool('sc0');
  let store = VvolStore.open(path.join(dir, 'vvol.db'));
  const f: Fixture = {
    array,
    store,
    dir,
    sc0,
    provider: new VvolProvider({ port: array, store, maxConcurrentOps: opts.maxConcurrentOps }),
    reopen() {
      store.close();
      store = VvolStore.open(path.join(dir, 'vvol.db'));
      f.store = store;
      f.provider = new VvolProvider({ port: array, store, maxConcurrentOps: opts.maxConcurrentOps });
      return f.provider;
    },
  };
  t.after(() => {
    f.store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return f;
}

/** Adds a host that sees the given PEs (LD numbers) at LUN 0, 1, ... in that order. */
export function hostSeeing(f: Fixture, host: string, pes: number[]): void {
  f.array.addHost(host);
  pes.forEach((pe, lun) => f.array.mapLun(host, pe, lun));
}

export function rejectsWith(id: string, message?: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof KuraError, `expected a KuraError, got ${String(e)}`);
    assert.equal(e.id, id, e.message);
    if (message !== undefined) assert.equal(e.message, message);
    return true;
  };
}

export async function settled(f: Fixture, task: TaskInfo): Promise<TaskInfo> {
  const t = await f.provider.waitTask(task.id);
  return t;
}

/** Waits for a task and asserts it succeeded; returns its result. */
export async function succeeded<T = unknown>(f: Fixture, task: TaskInfo): Promise<T> {
  const t = await f.provider.waitTask(task.id);
  assert.equal(t.state, 'success', JSON.stringify(t.error));
  return t.result as T;
}
