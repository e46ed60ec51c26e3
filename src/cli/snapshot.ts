// kura snapshot ...
import type { Command } from 'commander';
import { SNAPSHOTS } from '../api/snapshots.js';
import type { LdInfo, SnapshotInfo } from '../array/agent.js';
import { hex4, humanSize, intArg } from './units.js';
import { nameArg, segArg } from './context.js';
import type { CliContext } from './context.js';
import { print, table } from './format.js';

/** "2015/10/10 03:20:40" (local time), as iSMsc_query prints times. */
function queryTime(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** iSMsc_query's BV and SV blocks (VVM L1800-1809), then Kura's table with the absolute generations. */
function snapTable(bv: string, ss: SnapshotInfo[]): string {
  const first = ss[0];
  const query = [
    'BV Information',
    `   LD Name     : ${bv}`,
    '   Type        : -',
    '   Special File: -',
    `   State       : ${first?.bvState ?? 'normal'}`,
    `   Reserve Area: ${first?.reserveArea ?? '-'}`,
    'SV Information',
    ...ss.map((s) => `   -:${s.ld} (${String(s.relativeGeneration).padStart(4)}) ${s.status.padEnd(13)} [${queryTime(s.created)}] ${s.link}`),
  ];
  const t = table(
    ['Generation', 'Relative', 'Name', 'ESV LDN(h)', 'ESV', 'State', 'Access', 'Created', 'Allocated'],
    ss.map((s) => [s.generation, s.relativeGeneration, s.name, hex4(s.ldNumber), s.ld, s.status, s.access, s.created, humanSize(s.allocated)]),
  );
  return [...query, '', t].join('\n');
}

export function registerSnapshot(program: Command, ctx: CliContext): void {
  const snap = program.command('snapshot').description('extended snapshots (EBV/ESV)');
  snap
    .command('create <ld>')
    .description('take a snapshot generation of an LD')
    .option('--name <name>', 'snapshot name (default genN)')
    .action(async (ld: string, o: { name?: string }) => {
      const s = await ctx.client().send<SnapshotInfo>(SNAPSHOTS.create, { ref: segArg(ld) }, o.name !== undefined ? { name: nameArg(o.name) } : {});
      print(ctx.json(), s, () => `Snapshot ${s.ld} (generation ${s.generation}) created; read it as NBD export ${s.ld}.`);
    });
  snap
    .command('list <ld>')
    .description('list the generations of an LD')
    .action(async (ld: string) => {
      const ss = await ctx.client().send<SnapshotInfo[]>(SNAPSHOTS.list, { ref: segArg(ld) });
      print(ctx.json(), ss, () => snapTable(ss[0]?.bv ?? ld, ss));
    });
  snap
    .command('restore <ld> <snap>')
    .description('revert the LD to a generation')
    .action(async (ld: string, s: string) => {
      const l = await ctx.client().send<LdInfo>(SNAPSHOTS.restore, { ref: segArg(ld), snap: segArg(s) });
      print(ctx.json(), l, () => `LD ${l.name} restored from snapshot ${s}.`);
    });
  snap
    .command('set-access <ld> <snap>')
    .description('make a snapshot read/write or read-only (iSMsc_chgmod -volacc); writes to it never change the LD')
    .requiredOption('--access <mode>', 'rw (read/write) or ro (read-only)')
    .action(async (ld: string, s: string, o: { access: string }) => {
      const r = await ctx.client().send<SnapshotInfo>(SNAPSHOTS.setAccess, { ref: segArg(ld), snap: segArg(s) }, { access: o.access });
      print(ctx.json(), r, () => `Snapshot ${r.ld} is ${r.access === 'rw' ? 'read/write (rw)' : 'read-only (ro)'}.`);
    });
  snap
    .command('delete <ld> <snap>')
    .description('delete a generation')
    .action(async (ld: string, s: string) => {
      await ctx.client().send(SNAPSHOTS.delete, { ref: segArg(ld), snap: segArg(s) });
      print(ctx.json(), { deleted: `${ld}@${s}` }, () => `Snapshot ${ld}@${s} deleted.`);
    });
  snap
    .command('delete-oldest <ld>')
    .description('delete the oldest N generations (generationdel)')
    .requiredOption('--count <n>', 'how many generations')
    .action(async (ld: string, o: { count: string }) => {
      const ss = await ctx.client().send<SnapshotInfo[]>(SNAPSHOTS.deleteOldest, { ref: segArg(ld) }, { count: intArg(o.count, '--count') });
      print(ctx.json(), ss, () => `Deleted ${ss.length} generation(s): ${ss.map((s) => s.name).join(', ') || 'none'}.`);
    });
}
