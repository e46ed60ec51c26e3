// kura events: the manager's event log (configuration changes and the array's
// own events), through GET /api/v1/events.
import type { Command } from 'commander';
import type { ArrayEvent } from '../array/agent.js';
import type { CliContext } from './context.js';
import { print, table } from './format.js';
import { CliArgError, intArg } from './units.js';

export type EventRow = ArrayEvent & { seq: number };

const SEVERITIES = ['info', 'warning', 'error'];

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
      if (limit < 1 || limit > 10000) throw new CliArgError('KURA-E5002', `--limit ${limit} is out of range.`, 'Give --limit from 1 to 10000.');
      const q = new URLSearchParams({ limit: String(limit) });
      if (o.severity !== undefined) {
        if (!SEVERITIES.includes(o.severity)) throw new CliArgError('KURA-E5009', `--severity "${o.severity}" is not a severity.`, 'Give --severity info, warning or error.');
        q.set('severity', o.severity);
      }
      if (o.since !== undefined) q.set('since', String(intArg(o.since, '--since')));
      if (o.newestFirst) q.set('order', 'desc');
      const es = await ctx.client().call<EventRow[]>('GET', `/events?${q}`);
      print(ctx.json(), es, () => (es.length ? table(['Seq', 'Time', 'Id', 'Severity', 'Source', 'Text'], es.map((e) => [e.seq, e.time, e.id, e.severity, e.source, e.text])) : 'No events.'));
    });
}
