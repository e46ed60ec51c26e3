// kura ld ..., kura clone ...
import type { Command } from 'commander';
import { POOLS } from '../api/pools.js';
import { LDS } from '../api/lds.js';
import { SNAPSHOTS } from '../api/snapshots.js';
import type { LdDeleteResult, LdInfo, PoolInfo } from '../array/agent.js';
import { argError, expandBody, hex4, intArg, necCapacity, sizeArg } from './units.js';
import { LD_CREATE_NEEDS_SIZE } from '../catalogue/cli.js';
import { NOT_ON_OR_OFF } from '../catalogue/protocols.js';
import { nameArg, segArg } from './context.js';
import type { CliContext } from './context.js';
import { details, pdList, print, table } from './format.js';

/** RAID type as iSMview spells it (VVM L677, L730): mirrors, striped or not, are RAID1/10. */
export function necRaid(raid: LdInfo['raid']): string {
  return raid === 'RAID0' ? 'RAID0' : 'RAID1/10';
}

/**
 * Snapshot Attribute as iSMview prints it: an FCV that is also an EBV says BV
 * (VVM L1677); --json keeps snapshotAttribute EBV, so scripts see one spelling.
 */
function snapshotAttribute(l: LdInfo): string {
  return l.cloneAttribute === 'FCV' && l.snapshotAttribute === 'EBV' ? 'BV' : l.snapshotAttribute;
}

function ldList(nums: number[]): string {
  return nums.map(hex4).join(',') || '---';
}

/** The iSMview -ln attributes that apply to a Kura LD, in its order (VVM L720-757); `pool` adds its PD list. */
export function ldDetails(l: LdInfo, pool?: PoolInfo): string {
  return details('LD Detail Information', [
    ['LDN(h)', hex4(l.number)],
    ['OS Type', l.osType],
    ['LD Name', l.name],
    ['LD Capacity', necCapacity(l.capacity)],
    ['Pool No.(h)', hex4(l.poolNumber)],
    ['Pool Name', l.pool],
    ['RaidType', necRaid(l.raid)],
    ['PD Type', l.pdType],
    ['LD State', l.state],
    ['Capacity Allocation', l.capacityAllocation],
    ['Allocated Capacity', necCapacity(l.allocated)],
    ['Access Mode', l.accessMode],
    ['Group', l.group],
    ['Purpose', l.purpose],
    ['RPL Attribute', l.rplAttribute],
    ['Snapshot Attribute', snapshotAttribute(l)],
    ['Current Owner', String(l.currentOwner).padStart(2, '0')],
    ['Default Owner', String(l.defaultOwner).padStart(2, '0')],
    ...(pool ? [['PD List(h)', pdList(pool)] as [string, string]] : []),
    ['Read Cache Mode', l.readCacheMode],
    ['Write Cache Mode', l.writeCacheMode],
    ['Block Size', `${l.blockSize.toLocaleString('en-US')}byte`],
    ['Clone Attribute', l.cloneAttribute],
    ['VMware Type', l.vmwareType],
    ['Bound PE List(h)', ldList(l.boundPeList)],
    ['Bound VVOL List(h)', ldList(l.boundVvolList)],
    [
      'I/O Limits (IOPS)',
      l.qos.upper || l.qos.lower
        ? `upper ${l.qos.upper || '-'} / lower ${l.qos.lower || '-'}${l.qosActive === false ? ' (inactive: I/O control mode off in the pool)' : ''}`
        : '---',
    ],
    ['NBD Plain Access', l.nbdPlain ? 'on' : 'off'],
    ['Identifier (NAA)', l.naa],
    ['Serial Number', l.serial],
    ['Created', l.created],
  ]);
}

export function registerLd(program: Command, ctx: CliContext): void {
  const ld = program.command('ld').description('logical disks (thin volumes)');
  ld.command('create <name>')
    .description('create a thin LD (or the solution reserved volume with --attr ssv)')
    .requiredOption('--pool <pool>', 'pool name or number')
    .option('--size <size>', 'virtual capacity, e.g. 10GiB')
    .option('--attr <attr>', '"ssv": the solution reserved volume (fixed 4 GiB)')
    .option('--force', 'with --attr ssv: create it even in a pool with less than 4 GiB free (not reserved)')
    .action(async (name: string, o: { pool: string; size?: string; attr?: string; force?: boolean }) => {
      const body: Record<string, unknown> = { name: nameArg(name), pool: o.pool };
      if (o.size === undefined && o.attr === undefined) {
        throw argError(LD_CREATE_NEEDS_SIZE, { name });
      }
      if (o.size !== undefined) body['size'] = sizeArg(o.size, '--size');
      if (o.attr !== undefined) body['attr'] = o.attr;
      if (o.force) body['force'] = true;
      const l = await ctx.client().send<LdInfo>(LDS.create, {}, body);
      print(ctx.json(), l, () => ldDetails(l));
    });
  ld.command('list')
    .description('list LDs')
    .action(async () => {
      const ls = await ctx.client().send<LdInfo[]>(LDS.list);
      print(ctx.json(), ls, () =>
        // iSMview -l's columns (VVM L705-711). Conf.Chg is blank: Kura changes no
        // configuration in the background; LD Threshold does not apply to a thin LD.
        table(
          ['LDN(h)', 'OS Type', 'LD Name', 'PD Type', 'Conf.Chg', 'LD State', 'Threshold', 'VMware Type'],
          ls.map((l) => [hex4(l.number), l.osType, l.name, l.pdType, '', l.state, '---', l.vmwareType]),
        ),
      );
    });
  ld.command('show <ld>')
    .description('show an LD (name or number, e.g. 0001h)')
    .action(async (ref: string) => {
      const c = ctx.client();
      const l = await c.send<LdInfo>(LDS.show, { ref: segArg(ref) });
      if (ctx.json()) return print(true, l, () => '');
      // The PD list belongs to the pool; an LD shown while its pool goes away still prints.
      const pool = await c.send<PoolInfo>(POOLS.show, { ref: l.poolNumber }).catch(() => undefined);
      print(false, l, () => ldDetails(l, pool));
    });
  ld.command('expand <ld>')
    .description('grow an LD: give --add SIZE or --size TOTAL')
    .option('--add <size>', 'capacity to add, e.g. 1GiB')
    .option('--size <total>', 'the new total virtual capacity (an LD never shrinks)')
    .addHelpText(
      'after',
      '\nExactly one of --add and --size. --size is the total after the expansion, as for kura pool expand;\nto add 1 GiB to an LD give --add 1GiB.',
    )
    .action(async (ref: string, o: { add?: string; size?: string }) => {
      const l = await ctx.client().send<LdInfo>(LDS.expand, { ref: segArg(ref) }, expandBody(o, 'ld expand'));
      print(ctx.json(), l, () => ldDetails(l));
    });
  ld.command('set-qos <ld>')
    .description('set I/O control limits (IOPS; 0 clears a limit); needs the IOLoadManager licence')
    .option('--upper <iops>', 'upper limit, 10 to 1000000')
    .option('--lower <iops>', 'lower (guaranteed) limit, 10 to 1000000, below the upper')
    .action(async (ref: string, o: { upper?: string; lower?: string }) => {
      const body: Record<string, number> = {};
      if (o.upper !== undefined) body['upper'] = intArg(o.upper, '--upper');
      if (o.lower !== undefined) body['lower'] = intArg(o.lower, '--lower');
      const l = await ctx.client().send<LdInfo>(LDS.setQos, { ref: segArg(ref) }, body);
      print(ctx.json(), l, () => ldDetails(l));
    });
  ld.command('set-nbd-plain <ld> <on|off>')
    .description('on: unidentified (plain, non-TLS) NBD clients may list and open the LD and its snapshots while access control is on')
    .action(async (ref: string, v: string) => {
      if (v !== 'on' && v !== 'off') throw argError(NOT_ON_OR_OFF, { v, ref });
      const l = await ctx.client().send<LdInfo>(LDS.setNbdPlain, { ref: segArg(ref) }, { plain: v === 'on' });
      print(ctx.json(), l, () => ldDetails(l));
    });
  ld.command('delete <ld>')
    .description('delete an LD')
    .option('--fcvforce', 'confirm deleting a fast clone (FCV)')
    .option('--force', 'delete an LD that hosts map or clients have open (unmaps it and says what), or a faulty SSV that snapshots still use')
    .action(async (ref: string, o: { fcvforce?: boolean; force?: boolean }) => {
      const query = { fcvforce: o.fcvforce ? true : undefined, force: o.force ? true : undefined };
      const done = await ctx.client().send<LdDeleteResult | undefined>(LDS.delete, { ref: segArg(ref) }, undefined, query);
      if (!done) return print(ctx.json(), { deleted: ref }, () => `LD ${ref} deleted.`);
      print(ctx.json(), { deleted: ref, unmapped: done.unmapped, sessions: done.sessions }, () =>
        [
          `LD ${ref} deleted.`,
          ...done.unmapped.map((m) => `Unmapped from host ${m.host} LUN ${m.lun}.`),
          ...done.sessions.map((s) => `Cut off: ${s} (it gets an error for every later request).`),
        ].join('\n'),
      );
    });

  const clone = program.command('clone').description('fast clones (FEV/FCV)');
  clone
    .command('create <source> <name>')
    .description('make a fast clone of an LD or snapshot (LD@SNAP)')
    .action(async (src: string, name: string) => {
      const l = await ctx.client().send<LdInfo>(SNAPSHOTS.createClone, { ref: segArg(src) }, { name: nameArg(name) });
      print(ctx.json(), l, () => ldDetails(l));
    });
}
