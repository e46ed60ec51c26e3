// kura check: offline verification of a stopped array's metadata (every map
// entry points at an allocated chunk, refcounts match, nothing leaks, no chunk
// is mapped by unrelated LDs). It reads the data directory directly and never
// talks to the API; it refuses (KURA-E2520) a directory a server is using;
// exit 1 on any fault.
import path from 'node:path';
import type { Command } from 'commander';
import { checkDataDir } from '../block/check.js';
import type { CheckReport } from '../block/check.js';
import { KuraError, asKuraError } from '../errors.js';
import { print, table } from './format.js';
import type { CliContext } from './context.js';

export function checkText(dataDir: string, r: CheckReport): string {
  const lines: string[] = [];
  if (r.pools.length) lines.push(table(['Pool', 'Chunks', 'Allocated', 'Map pages', 'LDs'], r.pools.map((p) => [p.name, p.chunks, p.allocated, p.pages, p.lds])));
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
        if (k.id === 'KURA-E2520' || k.id === 'KURA-E2521') throw k;
        throw new KuraError(k.id === 'KURA-E9000' ? 'KURA-E5030' : k.id, k.code, `kura check could not read ${o.data}: ${k.message}`, 'Stop the server that uses this data directory, and check that it is a Kura data directory you can read.');
      }
      print(ctx.json(), r, () => checkText(o.data, r));
      if (!r.ok) process.exitCode = 1;
    });
}
