#!/usr/bin/env node
// File I/O runs on libuv's thread pool; its default of 4 threads caps queue depth.
// It must be sized before the first fs call, hence before the CLI is loaded.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '16';
await import('../dist/src/cli/main.js');
