// `kura serve` on its own: the long-running array process loads only what serving
// needs, not every CLI noun (the cluster commands alone pull in etcd3, gRPC and
// protobufjs). Those modules doubled the live V8 heap (8 -> 16 MB), and every major
// GC (which 1 MiB I/O buffers trigger through external-memory pressure) walks
// the live heap: 1 MiB sequential I/O lost ~20% (issue 9). bin/kura.js picks
// this entry when the first argument is `serve`; anything else gets main.ts.
import { makeProgram, runProgram } from './program.js';
import { registerServe } from './serve.js';

const program = makeProgram();
registerServe(program);
await runProgram(program);
