// kura check: offline verification of a stopped array's metadata.
import type { Command } from 'commander';
import { checkDataDir } from '../block/check.js';
import { print, table } from './format.js';
import type { CliContext } from './context.js';

export function registerCheck(program: Command, ctx: CliContext): void {
  program
    .command('check')
    .description('verify a stopped array offline (map entries, refcounts, leaks); exits 1 on any fault')
    .option('--data <dir>', 'data directory', './kura-data')
    .action((o: { data: string }) => {
      const r = checkDataDir(o.data);
      print(ctx.json(), r, () =>
        [
          table(['Pool', 'Chunks', 'Allocated', 'Map pages', 'LDs'], r.pools.map((p) => [p.name, p.chunks, p.allocated, p.pages, p.lds])),
          r.ok ? 'check: clean' : `check: ${r.faults.length} fault(s)\n${r.faults.map((f) => `  ${f}`).join('\n')}`,
        ].join('\n'),
      );
      if (!r.ok) process.exitCode = 1;
    });
}
