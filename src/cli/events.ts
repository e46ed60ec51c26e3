// kura events: the manager's event log (configuration changes and the array's
// own events), through GET /api/v1/events.
import type { Command } from 'commander';
import { EVENTS, SEVERITIES } from '../api/events.js';
import type { ArrayEvent } from '../array/agent.js';
import type { CliContext } from './context.js';
import { print, table } from './format.js';
import { argError, intArg } from './units.js';
import { LIMIT_ARG_RANGE, SEVERITY_UNKNOWN } from '../catalogue/cli.js';

export type EventRow = ArrayEvent & { seq: number };

export function registerEvents(program: Command, ctx: CliContext): void {
  program
    .command('events')
    .description('list events: the newest N, oldest first (--newest-first reverses)')
    .option('--limit <n>', 'how many of the newest events (1 to 10000)', '50')
    .option('--severity <s>', 'only events of this severity: info, warning or error')
    .option('--since <seq>', 'only events after this sequence number')
    .option('--newest-first', 'print the newest event first')
    .action(async (o: { limit: string; severity?: string; since?: string; newestFirst?: boolean }) => {
      const limit = intArg(o.limit, '--limit');
      if (limit < 1 || limit > 10000) throw argError(LIMIT_ARG_RANGE, { limit });
      if (o.severity !== undefined && !SEVERITIES.includes(o.severity)) throw argError(SEVERITY_UNKNOWN, { severity: o.severity });
      const since = o.since !== undefined ? intArg(o.since, '--since') : undefined;
      const es = await ctx
        .client()
        .send<EventRow[]>(EVENTS.list, {}, undefined, { limit, severity: o.severity, since, order: o.newestFirst ? 'desc' : undefined });
      print(ctx.json(), es, () =>
        es.length
          ? table(
              ['Seq', 'Time', 'Id', 'Severity', 'Source', 'Text'],
              es.map((e) => [e.seq, e.time, e.id, e.severity, e.source, e.text]),
            )
          : 'No events.',
      );
    });
}
