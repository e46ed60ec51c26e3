// The kura command. Every noun lives in its own file; all but `serve` and
// `check` talk only to the REST API.
//
// Exit status: 0 success; 1 the request failed (refused by the array, or the
// API is unreachable); 2 the command line is wrong. Errors go to stderr as
// "KURA-Ennnn: what happened" and, indented on the next line, what to do.
import { registerAlert } from './alert.js';
import { registerArray } from './array.js';
import { registerLogs } from './logs.js';
import { registerPerf } from './perf.js';
import { registerCheck } from './check.js';
import { registerCluster } from './cluster.js';
import { makeContext } from './context.js';
import { registerEvents } from './events.js';
import { registerHost } from './host.js';
import { registerLock } from './lock.js';
import { registerPair } from './pair.js';
import { registerLd } from './ld.js';
import { registerManager } from './manager.js';
import { registerPath } from './path.js';
import { registerPathd } from './pathd.js';
import { registerPe } from './pe.js';
import { registerPolicy } from './policy.js';
import { registerPool } from './pool.js';
import { registerServe } from './serve.js';
import { registerSnapshot } from './snapshot.js';
import { registerVvol } from './vvol.js';
import { registerVsim } from './vsim.js';
import { registerBackup } from './backup.js';
import { makeProgram, runProgram } from './program.js';

// The frame (global options, exit status) is program.ts; `kura serve` runs from
// serve-main.ts without the other nouns (bin/kura.js chooses).
const program = makeProgram();
const ctx = makeContext(program);
registerServe(program);
registerArray(program, ctx);
registerPool(program, ctx);
registerLd(program, ctx);
registerSnapshot(program, ctx);
registerHost(program, ctx);
registerEvents(program, ctx);
registerLock(program, ctx);
registerPair(program, ctx);
registerCheck(program, ctx);
registerPathd(program);
registerPath(program, ctx);
registerPe(program, ctx);
registerVvol(program, ctx);
registerPolicy(program, ctx);
registerManager(program, ctx);
registerVsim(program, ctx);
registerBackup(program, ctx);
registerCluster(program, ctx);
registerAlert(program, ctx);
registerPerf(program, ctx);
registerLogs(program, ctx);

await runProgram(program);
