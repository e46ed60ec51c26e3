// kura pe ...: protocol endpoints, the administrative LUs of the LUN
// conglomerates VVOLs are bound behind (VVM 2.1.4).
import type { Command } from 'commander';
import { PES } from '../api/vasa.js';
import type { PeView } from '../vvol/provider.js';
import { hex4, intArg } from './units.js';
import { nameArg, segArg } from './context.js';
import type { CliContext } from './context.js';
import { details, print, table } from './format.js';

const ldList = (ns: number[]): string => (ns.length ? ns.map(hex4).join(', ') : '---');

function peDetails(p: PeView): string {
  return details('Protocol Endpoint', [
    ['Name', p.name],
    ['Id', p.id],
    ['LDN(h)', hex4(p.ld)],
    ['Pool No.(h)', hex4(p.pool)],
    ['Owner', p.owner],
    ['Bound VVOL List(h)', ldList(p.boundVvols)],
    ['Created', p.created],
  ]);
}

export function registerPe(program: Command, ctx: CliContext): void {
  const pe = program.command('pe').description('protocol endpoints (VVOL LUN conglomerates)');
  pe.command('create <name>')
    .description('create a protocol endpoint in a Storage Container (at most 8 per array)')
    .requiredOption('--pool <pool>', 'the Storage Container (pool name or number)')
    .option('--owner <n>', 'owner controller, 0 or 1')
    .action(async (name: string, o: { pool: string; owner?: string }) => {
      const body: Record<string, unknown> = { name: nameArg(name), pool: o.pool };
      if (o.owner !== undefined) body['owner'] = intArg(o.owner, '--owner');
      const p = await ctx.client().send<PeView>(PES.create, {}, body);
      print(ctx.json(), p, () => peDetails(p));
    });
  pe.command('list')
    .description('list protocol endpoints')
    .action(async () => {
      const ps = await ctx.client().send<PeView[]>(PES.list);
      print(ctx.json(), ps, () =>
        table(
          ['LDN(h)', 'Name', 'Id', 'Pool No.(h)', 'Owner', 'Bound VVOLs'],
          ps.map((p) => [hex4(p.ld), p.name, p.id, hex4(p.pool), p.owner, p.boundVvols.length]),
        ),
      );
    });
  pe.command('show <pe>')
    .description('show a protocol endpoint (name, LD number or eui. id)')
    .action(async (ref: string) => {
      const p = await ctx.client().send<PeView>(PES.show, { ref: segArg(ref) });
      print(ctx.json(), p, () => peDetails(p));
    });
  pe.command('delete <pe>')
    .description('delete a protocol endpoint (refused while VVOLs are bound through it)')
    .action(async (ref: string) => {
      await ctx.client().send(PES.delete, { ref: segArg(ref) });
      print(ctx.json(), { deleted: ref }, () => `Protocol endpoint ${ref} deleted.`);
    });
}
