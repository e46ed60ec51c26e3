#!/usr/bin/env node
// CommonJS on purpose (bin/package.json): an ES module entry runs only after Node's
// module loader has started libuv's thread pool with its default 4 threads, so
// UV_THREADPOOL_SIZE set there never took effect; here nothing has used the pool yet.
'use strict';
const os = require('node:os');
// File I/O runs on libuv's thread pool. More threads than cores only adds
// contention for page-cached I/O (docs/benchmarks.md has the figures).
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(Math.max(2, os.availableParallelism()));
// `kura serve` loads only the serving modules (see src/cli/serve-main.ts: the other
// nouns' modules doubled the live heap, and 1 MiB I/O paid for it in GC).
import(process.argv[2] === 'serve' ? '../dist/src/cli/serve-main.js' : '../dist/src/cli/main.js').catch((e) => {
  console.error(e);
  process.exit(1);
});
