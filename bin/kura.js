#!/usr/bin/env node
import os from 'node:os';
// File I/O runs on libuv's thread pool. More threads than cores
// only adds contention for page-cached I/O (measured with fio over NBD: 2 threads beat 4 by 1.3x and 16 by 1.6x on
// 2 cores). It must be sized before the first fs call, hence before the CLI loads.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(Math.max(2, os.availableParallelism()));
// `kura serve` loads only the serving modules (see src/cli/serve-main.ts: the other
// nouns' modules doubled the live heap, and 1 MiB I/O paid for it in GC).
if (process.argv[2] === 'serve') await import('../dist/src/cli/serve-main.js');
else await import('../dist/src/cli/main.js');
