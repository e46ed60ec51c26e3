// kura alert ...: where the array's events are forwarded (webhooks, syslog,
// SNMP traps), through /api/v1/alerts.
import type { Command } from 'commander';
import { ALERTS } from '../api/alerts.js';
import type { CliContext } from './context.js';
import { nameArg, segArg } from './context.js';
import { print, table } from './format.js';

interface AlertRow {
  name: string;
  kind: string;
  target: string;
  transport?: string;
  community?: string;
  minSeverity: string;
  events: string[];
  created: string;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function registerAlert(program: Command, ctx: CliContext): void {
  const alert = program.command('alert').description('forward events to a webhook, a syslog receiver or an SNMP trap receiver');
  alert
    .command('add <name>')
    .description('forward events of at least --min-severity (and of --event ids, if given) to one destination')
    .option('--webhook <url>', 'an http(s) URL: one JSON POST per event (id, severity, text, time, source, seq, array)')
    .option('--syslog <host:port>', 'a syslog receiver: RFC 5424 messages')
    .option('--transport <udp|tcp>', 'syslog over udp (default) or tcp')
    .option('--snmp <host:port>', 'an SNMP trap receiver: v2c traps of KURA-MIB (mibs/KURA-MIB.txt)')
    .option('--community <c>', 'SNMP v2c community (default public)')
    .option('--min-severity <s>', 'info, warning (default) or error')
    .option('--event <id>', 'only this event id, or a prefix like KURA-E1* (repeatable)', collect, [] as string[])
    .action(
      async (
        name: string,
        o: { webhook?: string; syslog?: string; transport?: string; snmp?: string; community?: string; minSeverity?: string; event: string[] },
      ) => {
        const a = await ctx.client().send<AlertRow>(
          ALERTS.create,
          {},
          {
            name: nameArg(name),
            webhook: o.webhook,
            syslog: o.syslog,
            transport: o.transport,
            snmp: o.snmp,
            community: o.community,
            minSeverity: o.minSeverity,
            events: o.event.length ? o.event : undefined,
          },
        );
        print(ctx.json(), a, () => `Alert ${a.name} created: ${a.kind} ${a.target}, ${a.minSeverity} and above.`);
      },
    );
  alert
    .command('list')
    .description('the alerts, their destinations (webhook URLs shortened: their paths often hold secrets) and filters')
    .action(async () => {
      const list = await ctx.client().send<AlertRow[]>(ALERTS.list);
      print(ctx.json(), list, () =>
        list.length
          ? table(
              ['Name', 'Kind', 'Destination', 'Min severity', 'Events'],
              list.map((a) => [a.name, a.kind + (a.transport ? `/${a.transport}` : ''), a.target, a.minSeverity, a.events.join(' ') || 'all']),
            )
          : 'No alerts.',
      );
    });
  alert
    .command('test <name>')
    .description('send a test event to one alert now; fails (exit 1) with the reason when it does not arrive')
    .action(async (name: string) => {
      const r = await ctx.client().send<{ name: string; target: string }>(ALERTS.test, { name: segArg(name) });
      print(ctx.json(), r, () => `Test event delivered to alert ${r.name} (${r.target}).`);
    });
  alert
    .command('delete <name>')
    .description('delete an alert')
    .action(async (name: string) => {
      await ctx.client().send(ALERTS.delete, { name: segArg(name) });
      print(ctx.json(), { deleted: name }, () => `Alert ${name} deleted.`);
    });
}
