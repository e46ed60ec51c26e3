// kura array show: the array's identity, version, controllers with their host
// ports (the KURA-E2051 hint sends users here), and memory use.
import type { Command } from 'commander';
import { ARRAY } from '../api/array.js';
import type { ArrayInfo, ControllerInfo } from '../array/agent.js';
import type { CliContext } from './context.js';
import { details, print, table } from './format.js';
import { humanSize } from './units.js';
import { registerArrayService } from './array-service.js';

/** GET /api/v1/array: the agent's info with the controllers spelled out. */
export type ArrayView = Omit<ArrayInfo, 'controllers'> & { controllers: ControllerInfo[] };

export function arrayText(a: ArrayView): string {
  const head = details('Array Information', [
    ['Array Name', a.name],
    ['Serial Number', a.serial],
    ['Version', a.version],
    ['Controllers', a.controllers.length],
    ['Metadata Memory', `${humanSize(a.memory.metadataBytes)} (${a.memory.mapPages.toLocaleString('en-US')} map pages)`],
    ['Process Memory', `RSS ${humanSize(a.memory.rss)}, heap ${humanSize(a.memory.heapUsed)}`],
  ]);
  const ports = table(
    ['Controller', 'State', 'Host port', 'Port state', 'TPGT', 'RTPI'],
    a.controllers.flatMap((c) => {
      const ctl = String(c.number).padStart(2, '0');
      if (c.ports.length === 0) return [[ctl, c.state, '-', '-', '-', '-']];
      return c.ports.map((p) => [ctl, c.state, `${p.host}:${p.port}`, p.state, p.portalGroupTag, p.relativeTargetPortId]);
    }),
  );
  return `${head}\n\n${ports}`;
}

export function registerArray(program: Command, ctx: CliContext): void {
  const array = program.command('array').description('the disk array as a whole');
  array
    .command('show')
    .description('array name, serial, version, controllers with their host ports, memory use')
    .action(async () => {
      const a = await ctx.client().send<ArrayView>(ARRAY.show);
      print(ctx.json(), a, () => arrayText(a));
    });
  registerArrayService(array, ctx);
}
