// The optional native helper (native/kura_io.c): page-cache reads without a
// thread-pool hand-off. Without it (no compiler at install time, another OS)
// every read goes through libuv's thread pool as before.
import { createRequire } from 'node:module';

/** Bytes read; -1: would block (not cached); -2: RWF_NOWAIT unsupported here. */
export type ReadNowait = (fd: number, buf: Buffer, offset: number, length: number, position: number) => number;

function load(): ReadNowait | null {
  if (process.env['KURA_NO_NATIVE_IO'] === '1') return null;
  try {
    const require = createRequire(import.meta.url);
    const mod = require('../../../build/Release/kura_io.node') as { readNowait: ReadNowait };
    return typeof mod.readNowait === 'function' ? mod.readNowait : null;
  } catch {
    return null;
  }
}

export const readNowait: ReadNowait | null = load();
