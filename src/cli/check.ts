// kura check: offline verification of a stopped array's metadata (every map
// entry points at an allocated chunk, refcounts match, nothing leaks, no chunk
// is mapped by unrelated LDs). It reads the data directory directly and never
// talks to the API; it refuses (KURA-E2520) a directory a server is using;
// exit 1 on any fault.
import path from 'node:path';
import type { Command } from 'commander';
import { checkDataDir } from '../block/check.js';
import type { CheckReport } from '../block/check.js';
import { INTERNAL_ERROR, KuraError, asKuraError } from '../errors.js';
import { DATA_DIR_IN_USE, DATA_DIR_LOCK_FAILED } from '../catalogue/array.js';
import { CHECK_FAILED } from '../catalogue/cli.js';
import { print, table } from './format.js';
import type { CliContext } from './context.js';

export function checkText(dataDir: string, r: CheckReport): string {
  const lines: string[] = [];
  if (r.pools.length)
    lines.push(
      table(
        ['Pool', 'Chunks', 'Allocated', 'Map pages', 'LDs'],
        r.pools.map((p) => [p.name, p.chunks, p.allocated, p.pages, p.lds]),
      ),
    );
  lines.push(r.ok ? `check ${path.resolve(dataDir)}: clean, no faults` : `check ${path.resolve(dataDir)}: ${r.faults.length} fault(s)`);
  for (const f of r.faults) lines.push(`  ${f}`);
  return lines.join('\n');
}

export function registerCheck(program: Command, ctx: CliContext): void {
  program
    .command('check')
    .description('verify a stopped array offline (map entries, refcounts, leaks); exits 1 on any fault')
    .option('--data <dir>', 'data directory of the stopped array', './kura-data')
    .action((o: { data: string }) => {
      let r: CheckReport;
      try {
        r = checkDataDir(o.data);
      } catch (e) {
        const k = asKuraError(e);
        // A directory in use (or not lockable) already says what to do.
        if (k.id === DATA_DIR_IN_USE.id || k.id === DATA_DIR_LOCK_FAILED.id) throw k;
        const failed = CHECK_FAILED({ dir: o.data, reason: k.message });
        if (k.id === INTERNAL_ERROR.id) throw failed;
        // Any other error keeps its id (scripts test it), in the check's sentence.
        throw new KuraError(k.id, k.code, failed.message, failed.action);
      }
      print(ctx.json(), r, () => checkText(o.data, r));
      if (!r.ok) process.exitCode = 1;
    });
}
