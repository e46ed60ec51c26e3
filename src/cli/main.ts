// The kura command. Every noun lives in its own file; all but `serve` and
// `check` talk only to the REST API.
//
// Exit status: 0 success; 1 the request failed (refused by the array, or the
// API is unreachable); 2 the command line is wrong. Errors go to stderr as
// "KURA-Ennnn: what happened" and, indented on the next line, what to do.
import { Command, CommanderError } from 'commander';
import { KuraError } from '../errors.js';
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
import { CliArgError } from './units.js';
import { CLI_INTERNAL_ERROR, COMMAND_STOPPED_WAITING, USAGE_ERROR } from '../catalogue/cli.js';

// A reader that stops early (kura path show | head) closes the pipe: that ends
// the output, as for any Unix filter, instead of a stack trace and exit 1.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

const program = new Command();
program
  .name('kura')
  .description('Kura storage array: serve it, and manage it through its REST API')
  .version('0.1.0')
  .option('--url <url>', 'API URL (or KURA_URL; default http://127.0.0.1:9940)')
  .option('--token <token>', 'API token (or KURA_TOKEN; default ./kura-data/admin.token)')
  .option('--json', 'print JSON instead of tables')
  .option('--owner <name>', 'owner name for the configuration lock (or KURA_OWNER; default user@host)')
  .option('--array <id>', 'with several arrays behind redundant managers: the array to act on (or KURA_ARRAY)')
  .exitOverride()
  // Commander's own error lines are replaced by ours (with an id); help still prints.
  // Subcommands inherit these settings because they are created after them.
  .configureOutput({ outputError: () => undefined })
  .showHelpAfterError(false);

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

function fail(e: { id: string; message: string; action: string }, code: number): never {
  process.stderr.write(`${e.id}: ${e.message}\n  ${e.action}\n`);
  process.exit(code);
}

// A promise that can never settle (a socket dropped without an event) used to
// end the command with exit 13 and no word; say so with an id instead.
let finished = false;
process.on('beforeExit', () => {
  if (!finished) fail(COMMAND_STOPPED_WAITING(), 1);
});

try {
  await program.parseAsync(process.argv);
  finished = true;
} catch (e) {
  finished = true;
  if (e instanceof CommanderError) {
    // --help and --version; a noun without a verb prints its help and is a usage error.
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') process.exit(0);
    if (e.code === 'commander.help') process.exit(2);
    fail(USAGE_ERROR({ problem: e.message.replace(/^error: /, '').replace(/\.?$/, '.') }), 2);
  }
  if (e instanceof CliArgError) fail(e, 2);
  if (e instanceof KuraError) fail(e, 1);
  fail(CLI_INTERNAL_ERROR({ stack: (e as Error)?.stack ?? String(e) }), 1);
}
