#!/usr/bin/env node
import os from 'node:os';
// File I/O runs on libuv's thread pool. More threads than about twice the cores
// only adds contention for page-cached I/O (measured: 4 threads beat 16 by 1.3x on
// 2 cores). It must be sized before the first fs call, hence before the CLI loads.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = String(Math.max(4, os.availableParallelism() * 2));
await import('../dist/src/cli/main.js');
