#!/usr/bin/env node
import os from 'node:os';
// File I/O runs on libuv's thread pool. More threads than cores
// only adds contention for page-cached I/O (measured with fio over NBD: 2 threads beat 4 by 1.3x and 16 by 1.6x on
// 2 cores). It must be sized before the first fs call, hence before the CLI loads.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(Math.max(2, os.availableParallelism()));
await import('../dist/src/cli/main.js');
