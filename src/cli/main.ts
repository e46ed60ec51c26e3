// The kura command. Every noun lives in its own file; all but `serve` and
// `check` talk only to the REST API.
import { Command, CommanderError } from 'commander';
import { KuraError } from '../errors.js';
import { registerCheck } from './check.js';
import { makeContext } from './context.js';
import { registerHost } from './host.js';
import { registerLd } from './ld.js';
import { CliArgError, registerPool } from './pool.js';
import { registerServe } from './serve.js';
import { registerSnapshot } from './snapshot.js';

/** Errors in what the user typed (exit 2), as opposed to failures of the request (exit 1). */
const ARG_ERROR_IDS = new Set(['KURA-E5001', 'KURA-E5002']);

const program = new Command();
program
  .name('kura')
  .description('Kura storage array: serve it, and manage it through its API')
  .version('0.1.0')
  .option('--url <url>', 'API URL (or KURA_URL; default http://127.0.0.1:9940)')
  .option('--token <token>', 'API token (or KURA_TOKEN; default ./kura-data/admin.token)')
  .option('--json', 'print JSON instead of tables')
  .exitOverride()
  .configureOutput({ writeErr: () => undefined })
  .showHelpAfterError(false);

const ctx = makeContext(program);
registerServe(program);
registerPool(program, ctx);
registerLd(program, ctx);
registerSnapshot(program, ctx);
registerHost(program, ctx);
registerCheck(program, ctx);

function fail(id: string, message: string, action: string, code: number): never {
  process.stderr.write(`${id}: ${message}\n  ${action}\n`);
  process.exit(code);
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') process.exit(0);
    fail('KURA-E5003', e.message.replace(/^error: /, ''), 'See kura --help, or kura <noun> --help.', 2);
  }
  if (e instanceof CliArgError) fail('KURA-E5004', e.message, e.action, 2);
  if (e instanceof KuraError) fail(e.id, e.message, e.action, ARG_ERROR_IDS.has(e.id) ? 2 : 1);
  fail('KURA-E9000', `Internal error: ${(e as Error)?.stack ?? String(e)}`, 'Report this problem.', 1);
}
