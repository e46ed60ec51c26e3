// kura perf ...: the manager's performance history (10-second samples for a
// day, 1-minute samples for a week) of LDs, front-end ports and pools.
import type { Command } from 'commander';
import { PERF, PERF_KIND_NAMES } from '../api/perf.js';
import type { CliContext } from './context.js';
import { segArg } from './context.js';
import { print, table } from './format.js';
import { argError } from './units.js';
import { PERF_KIND_UNKNOWN } from '../catalogue/ops.js';

interface Series {
  kind: string;
  name: string;
  resolution: string;
  fields: string[];
  samples: Array<Record<string, number | string>>;
}

function csv(s: Series): string {
  return [['time', ...s.fields].join(','), ...s.samples.map((r) => [r['time'], ...s.fields.map((f) => r[f])].join(','))].join('\n');
}

export function registerPerf(program: Command, ctx: CliContext): void {
  const perf = program.command('perf').description('performance history of LDs, front-end ports and pools');
  perf
    .command('list')
    .description('the objects with history')
    .action(async () => {
      const list = await ctx.client().send<Array<{ kind: string; name: string }>>(PERF.list);
      print(ctx.json(), list, () =>
        list.length
          ? table(
              ['Kind', 'Name'],
              list.map((o) => [o.kind, o.name]),
            )
          : 'No history yet.',
      );
    });
  perf
    .command('show <name>')
    .description('IOPS, bytes per second, latency and queue depth of an LD (or --kind port|pool) since a time ago')
    .option('--kind <kind>', 'ld (default), port or pool', 'ld')
    .option('--since <duration>', 'how far back: 90s, 15m, 1h, 2d (up to 7d)', '1h')
    .option('--resolution <r>', '10s or 1m (default: 10s up to a day back, else 1m)')
    .option('--csv', 'print CSV (time and one column per value)')
    .action(async (name: string, o: { kind: string; since: string; resolution?: string; csv?: boolean }) => {
      if (!PERF_KIND_NAMES.includes(o.kind)) throw argError(PERF_KIND_UNKNOWN, { kind: o.kind });
      const s = await ctx.client().send<Series>(PERF.show, { kind: o.kind, name: segArg(name) }, undefined, { since: o.since, resolution: o.resolution });
      if (o.csv) {
        process.stdout.write(csv(s) + '\n');
        return;
      }
      print(ctx.json(), s, () =>
        s.samples.length
          ? table(
              ['Time', ...s.fields],
              s.samples.map((r) => [String(r['time']), ...s.fields.map((f) => String(r[f]))]),
            )
          : `No samples of ${s.kind} ${s.name} in the last ${o.since}.`,
      );
    });
}
