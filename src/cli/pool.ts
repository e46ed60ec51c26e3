// kura pool ...
import type { Command } from 'commander';
import { POOLS } from '../api/pools.js';
import type { PoolInfo } from '../array/agent.js';
import { expandBody, hex4, humanSize, intArg, necCapacity, percentArg, raidArg, sizeArg } from './units.js';
import { nameArg, segArg } from './context.js';
import type { CliContext } from './context.js';
import { details, pdList, print, table } from './format.js';

export function poolDetails(p: PoolInfo): string {
  return details('Pool Detail Information', [
    ['Pool No.(h)', hex4(p.number)],
    ['Pool Name', p.name],
    ['Pool Type', p.type],
    ['VMware Type', p.vmwareType],
    ['RAID Type', p.raid],
    ['Pool State', p.resyncProgress === null ? p.state : `${p.state} (mirror resync ${p.resyncProgress}%)`],
    ['Pool Capacity', necCapacity(p.capacity)],
    ['Used Pool Capacity', necCapacity(p.used)],
    ['Free Pool Capacity', necCapacity(p.free)],
    ['Virtual Capacity', necCapacity(p.virtualCapacity)],
    ['Threshold', `${p.threshold}%${p.overThreshold ? ' (exceeded)' : ''}`],
    ['I/O Control Mode', p.qosMode],
    [
      'I/O Limit Defaults',
      p.qosDefaults.upper || p.qosDefaults.lower ? `upper ${p.qosDefaults.upper || '-'} / lower ${p.qosDefaults.lower || '-'} IOPS` : '---',
    ],
    ['Chunk Size', humanSize(p.chunkSize)],
    ['PD List(h)', pdList(p)],
    ['LD Count', p.ldCount],
    ['Created', p.created],
  ]);
}

export function registerPool(program: Command, ctx: CliContext): void {
  const pool = program.command('pool').description('thin pools of PDs');
  pool
    .command('create <name>')
    .description('create a pool of new sparse PDs')
    .requiredOption('--size <size>', 'usable capacity, e.g. 10GiB')
    .option('--pds <n>', 'PDs in the RAID group')
    .option('--raid <type>', 'RAID type: 1, 10 or 0', '1')
    .option('--chunk <size>', 'chunk size (default 1MiB)')
    .option('--threshold <pct>', 'actual-capacity threshold in percent (default 80)')
    .option('--container', "make it a Storage Container for VVOLs (VMware Type Container); fixed for the pool's life")
    .action(async (name: string, o: { size: string; pds?: string; raid: string; chunk?: string; threshold?: string; container?: boolean }) => {
      const body: Record<string, unknown> = { name: nameArg(name), size: sizeArg(o.size, '--size'), raid: raidArg(o.raid) };
      if (o.container) body['container'] = true;
      if (o.pds !== undefined) body['pds'] = intArg(o.pds, '--pds');
      if (o.chunk !== undefined) body['chunk'] = sizeArg(o.chunk, '--chunk');
      if (o.threshold !== undefined) body['threshold'] = percentArg(o.threshold, '--threshold');
      const p = await ctx.client().send<PoolInfo>(POOLS.create, {}, body);
      print(ctx.json(), p, () => poolDetails(p));
    });
  pool
    .command('list')
    .description('list pools')
    .action(async () => {
      const ps = await ctx.client().send<PoolInfo[]>(POOLS.list);
      print(ctx.json(), ps, () =>
        table(
          ['Pool No.(h)', 'Pool Name', 'Pool Type', 'RAID', 'State', 'Capacity', 'Used', 'Free', 'Virtual', 'Threshold', 'LDs', 'VMware Type'],
          ps.map((p) => [
            hex4(p.number),
            p.name,
            p.type,
            p.raid,
            p.state,
            humanSize(p.capacity),
            humanSize(p.used),
            humanSize(p.free),
            humanSize(p.virtualCapacity),
            `${p.threshold}%`,
            p.ldCount,
            p.vmwareType,
          ]),
        ),
      );
    });
  pool
    .command('show <pool>')
    .description('show a pool (name or number, e.g. 0000h)')
    .action(async (ref: string) => {
      const p = await ctx.client().send<PoolInfo>(POOLS.show, { ref: segArg(ref) });
      print(ctx.json(), p, () => poolDetails(p));
    });
  pool
    .command('expand <pool>')
    .description('grow a pool online (a new RAID group of PDs): give --add SIZE or --size TOTAL')
    .option('--add <size>', 'capacity to add, e.g. 10GiB')
    .option('--size <total>', 'the new total capacity (larger than the current one)')
    .addHelpText(
      'after',
      '\nExactly one of --add and --size. --size is the total after the expansion, as for kura ld expand;\nto add 10 GiB to a pool give --add 10GiB.',
    )
    .action(async (ref: string, o: { add?: string; size?: string }) => {
      const p = await ctx.client().send<PoolInfo>(POOLS.expand, { ref: segArg(ref) }, expandBody(o, 'pool expand'));
      print(ctx.json(), p, () => poolDetails(p));
    });
  pool
    .command('set <pool>')
    .description('change pool settings')
    .option('--threshold <pct>', 'actual-capacity threshold in percent')
    .option('--qos-upper <iops>', 'default IOPS upper limit for new LDs (0 clears)')
    .option('--qos-lower <iops>', 'default IOPS lower limit for new LDs (0 clears)')
    .option('--qos-mode <on|off>', "I/O control mode: off keeps the LDs' limits but they do not act")
    .option('--container', 'make it a Storage Container: refused, an existing pool cannot be converted (VVM L197)')
    .action(async (ref: string, o: { threshold?: string; qosUpper?: string; qosLower?: string; qosMode?: string; container?: boolean }) => {
      const body: Record<string, number | string | boolean> = {};
      if (o.container) body['container'] = true;
      if (o.qosMode !== undefined) body['qosMode'] = o.qosMode;
      if (o.threshold !== undefined) body['threshold'] = percentArg(o.threshold, '--threshold');
      if (o.qosUpper !== undefined) body['qosUpper'] = intArg(o.qosUpper, '--qos-upper');
      if (o.qosLower !== undefined) body['qosLower'] = intArg(o.qosLower, '--qos-lower');
      const p = await ctx.client().send<PoolInfo>(POOLS.set, { ref: segArg(ref) }, body);
      print(ctx.json(), p, () => poolDetails(p));
    });
  pool
    .command('delete <pool>')
    .description('delete a pool (refused while it holds LDs)')
    .action(async (ref: string) => {
      await ctx.client().send(POOLS.delete, { ref: segArg(ref) });
      print(ctx.json(), { deleted: ref }, () => `Pool ${ref} deleted.`);
    });
}
