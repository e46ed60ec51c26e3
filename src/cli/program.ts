// The kura program's frame, shared by the full CLI (main.ts) and `kura serve`
// (serve-main.ts): the global options and how a run ends (exit status, errors with ids).
//
// Exit status: 0 success; 1 the request failed (refused by the array, or the
// API is unreachable); 2 the command line is wrong. Errors go to stderr as
// "KURA-Ennnn: what happened" and, indented on the next line, what to do.
import { Command, CommanderError } from 'commander';
import { KuraError } from '../errors.js';
import { CliArgError } from './units.js';
import { CLI_INTERNAL_ERROR, COMMAND_STOPPED_WAITING, USAGE_ERROR } from '../catalogue/cli.js';

/** The `kura` command with its global options; the caller registers the nouns. */
export function makeProgram(): Command {
  // A reader that stops early (kura path show | head) closes the pipe: that ends
  // the output, as for any Unix filter, instead of a stack trace and exit 1.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }

  return (
    new Command()
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
      .showHelpAfterError(false)
  );
}

function fail(e: { id: string; message: string; action: string }, code: number): never {
  process.stderr.write(`${e.id}: ${e.message}\n  ${e.action}\n`);
  process.exit(code);
}

/** Parses the command line and runs the command, ending the process as the header says on failure. */
export async function runProgram(program: Command): Promise<void> {
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
}
