// Opening and closing an array's data directory: make and lock the directory,
// tighten its modes, open the block engine, and undo all of it if building or
// starting the array fails; closing stops in the reverse order.
import path from 'node:path';
import { KuraError } from '../errors.js';
import { BlockEngine } from '../block/engine.js';
import { DataDirLock, makeDataDir, tightenDataDir, tightenedText } from '../block/data-dir.js';
import type { Replicator } from '../block/replication.js';
import { ARRAY_CANNOT_OPEN } from '../catalogue/array.js';
import type { ConfigQueue } from './config-queue.js';

export interface DataDirOptions {
  dataDir: string;
  /** Where opening says what it changed (modes tightened); default stderr. */
  log?: (m: string) => void;
}

/**
 * Opens the data directory and hands its engine and lock to build; then start.
 * On any failure the built array is closed, the lock released, and the error
 * is a KuraError.
 */
export async function openDataDir<A extends { close(): Promise<void> }>(
  opts: DataDirOptions,
  build: (engine: BlockEngine, lock: DataDirLock) => A,
  start: (array: A) => Promise<void>,
): Promise<A> {
  const dir = path.join(opts.dataDir, 'array');
  makeDataDir(dir);
  // One process per data directory: a second server would interleave metadata.
  const lock = DataDirLock.acquire(opts.dataDir);
  let array: A | undefined;
  try {
    const tightened = tightenedText(opts.dataDir, tightenDataDir(opts.dataDir));
    if (tightened) (opts.log ?? ((m: string) => process.stderr.write(`${m}\n`)))(tightened);
    array = build(BlockEngine.open(dir), lock);
    await start(array);
    return array;
  } catch (e) {
    if (array) await array.close().catch(() => undefined);
    lock.release();
    if (e instanceof KuraError) throw e;
    throw ARRAY_CANNOT_OPEN({ dataDir: opts.dataDir, reason: (e as Error).message });
  }
}

/** Closes an open array: waits for configuration changes, stops copies, closes the engine, frees the directory. */
export class ArrayShutdown {
  private closed = false;

  constructor(
    private readonly config: ConfigQueue,
    private readonly replicator: Replicator,
    private readonly engine: BlockEngine,
    private readonly dirLock: DataDirLock,
  ) {}

  async close(): Promise<void> {
    await this.config.idle();
    // A second close (a test's cleanup after its own) has nothing left to do.
    if (this.closed) return;
    this.closed = true;
    try {
      await this.replicator.close();
      await this.engine.close();
    } finally {
      // Last: the directory is free for the next process only once the metadata is closed.
      this.dirLock.release();
    }
  }
}
