// kura vvol ... and kura task ...: the VVOL provider's operations (the VASA
// provider role, docs/vvol.md) for administrators and scripts; `kura vsim`
// drives the same routes as a hypervisor would.
import type { Command } from 'commander';
import { CONTAINERS, VASA, VVOLS } from '../api/vasa.js';
import { PROVIDER_FIELD_INVALID } from '../catalogue/vvol.js';
import type { ContainerView, Limits } from '../vvol/provider.js';
import type { VvolView } from '../vvol/model.js';
import type { TaskInfo } from '../vvol/tasks.js';
import type { VvolEvent } from '../vvol/events.js';
import type { ApiClient } from './client.js';
import { hex4, humanSize, intArg, sizeArg } from './units.js';
import { segArg } from './context.js';
import type { CliContext } from './context.js';
import { details, print, table } from './format.js';
import { progressSink } from './progress.js';

/** --metadata k=v (repeatable) as an object; --unset k as null. */
function metadataArg(pairs: string[] = [], unset: string[] = []): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw PROVIDER_FIELD_INVALID({ field: '--metadata', why: `${JSON.stringify(p).slice(0, 60)} is not KEY=VALUE` });
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  for (const k of unset) out[k] = null;
  return out;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const ldList = (ns: number[]): string => (ns.length ? ns.map(hex4).join(', ') : '---');

function vvolDetails(v: VvolView): string {
  return details('VVOL', [
    ['Id', v.id],
    ['Type', v.type],
    ['VM', v.vm],
    ['LDN(h)', hex4(v.ld)],
    ['Container Pool(h)', hex4(v.container)],
    ['Capacity', humanSize(v.size)],
    ['Allocated', humanSize(v.allocated)],
    ['Policy', v.policy ?? '---'],
    ['Snapshot Of', v.snapshotOf ? `${v.snapshotOf} (${v.snapshotName})` : '---'],
    ['Linked From', v.linkedFrom ?? '---'],
    ['Bound PE List(h)', ldList(v.boundPes)],
    [
      'Metadata',
      Object.entries(v.metadata)
        .map(([k, x]) => `${k}=${x}`)
        .join(', ') || '---',
    ],
  ]);
}

/** Waits for a task, drawing its progress on stderr; the task as it ended. */
export async function waitTask(client: ApiClient, task: TaskInfo, label: string): Promise<TaskInfo> {
  const bar = progressSink(process.stderr);
  let t = task;
  while (t.state === 'queued' || t.state === 'running') {
    bar.update(t.progress, null, `${label} (${t.state})`);
    await new Promise((r) => setTimeout(r, 200));
    t = await client.send<TaskInfo>(VASA.task, { id: t.id });
  }
  bar.done();
  return t;
}

function taskText(t: TaskInfo): string {
  const head = `Task ${t.id} (${t.kind}): ${t.state}, ${Math.floor(t.progress)}%`;
  if (t.error) return `${head}\n${t.error.id}: ${t.error.message}\n${t.error.action}`;
  return t.result === null || t.result === undefined ? head : `${head}\nResult: ${JSON.stringify(t.result)}`;
}

export function registerVvol(program: Command, ctx: CliContext): void {
  const vvol = program.command('vvol').description('VVOLs served by the VVOL provider (VASA role)');
  const send = <T>(...a: Parameters<ApiClient['send']>): Promise<T> => ctx.client().send<T>(...a);
  const task = async (t: TaskInfo, wait: boolean | undefined, label: string): Promise<void> => {
    const done = wait ? await waitTask(ctx.client(), t, label) : t;
    print(ctx.json(), done, () => taskText(done));
    if (wait && done.state !== 'success') process.exitCode = 1;
  };

  vvol
    .command('list')
    .description('list VVOLs (JSON: id, type, vm, ld, container, boundPes, ...)')
    .option('--container <c>', 'only this container (pool name, number or container id)')
    .option('--vm <vm>', 'only this virtual machine')
    .option('--type <type>', 'only config, data, swap or memory')
    .action(async (o: { container?: string; vm?: string; type?: string }) => {
      const vs = await send<VvolView[]>(VVOLS.list, {}, undefined, { container: o.container, vm: o.vm, type: o.type });
      print(ctx.json(), vs, () =>
        table(
          ['Id', 'Type', 'VM', 'LDN(h)', 'Pool(h)', 'Capacity', 'Bound PEs(h)'],
          vs.map((v) => [v.id, v.type, v.vm, hex4(v.ld), hex4(v.container), humanSize(v.size), ldList(v.boundPes)]),
        ),
      );
    });
  vvol
    .command('show <id>')
    .description('show a VVOL')
    .action(async (id: string) => {
      const v = await send<VvolView>(VVOLS.show, { id: segArg(id) });
      print(ctx.json(), v, () => vvolDetails(v));
    });
  vvol
    .command('create')
    .description('create a VVOL in a Storage Container')
    .requiredOption('--container <c>', 'Storage Container (pool name, number or container id)')
    .requiredOption('--type <type>', 'config, data, swap or memory')
    .requiredOption('--size <size>', 'capacity, e.g. 10GiB')
    .requiredOption('--vm <vm>', 'the virtual machine it belongs to')
    .option('--policy <name>', 'storage policy')
    .option('--metadata <k=v>', 'metadata entry (repeatable)', collect)
    .action(async (o: { container: string; type: string; size: string; vm: string; policy?: string; metadata?: string[] }) => {
      const body: Record<string, unknown> = { container: o.container, type: o.type, size: sizeArg(o.size, '--size'), vm: o.vm };
      if (o.policy !== undefined) body['policy'] = o.policy;
      if (o.metadata) body['metadata'] = metadataArg(o.metadata);
      const r = await send<{ vvol: VvolView; warnings: Array<{ id: string; text: string }> }>(VVOLS.create, {}, body);
      print(ctx.json(), r, () => [vvolDetails(r.vvol), ...r.warnings.map((w) => `${w.id}: ${w.text}`)].join('\n'));
    });
  vvol
    .command('delete <id>')
    .description('delete a VVOL')
    .action(async (id: string) => {
      const r = await send<{ id: string; task: TaskInfo | null; warnings: Array<{ id: string; text: string }> }>(VVOLS.delete, { id: segArg(id) });
      print(ctx.json(), r, () =>
        [`VVOL ${r.id} deleted${r.task ? ` (the array deletes its snapshot in task ${r.task.id})` : ''}.`, ...r.warnings.map((w) => `${w.id}: ${w.text}`)].join(
          '\n',
        ),
      );
    });
  vvol
    .command('delete-batch <ids...>')
    .description('delete several VVOLs, one result each')
    .action(async (ids: string[]) => {
      const r = await send<Array<{ id: string; ok: boolean; error?: { id: string; message: string } }>>(VVOLS.deleteBatch, {}, { ids });
      print(ctx.json(), r, () => r.map((x) => (x.ok ? `${x.id}: deleted` : `${x.id}: ${x.error!.id} ${x.error!.message}`)).join('\n'));
    });
  vvol
    .command('metadata <id>')
    .description('set or remove metadata keys')
    .option('--set <k=v>', 'set a key (repeatable)', collect)
    .option('--unset <k>', 'remove a key (repeatable)', collect)
    .action(async (id: string, o: { set?: string[]; unset?: string[] }) => {
      const v = await send<VvolView>(VVOLS.metadata, { id: segArg(id) }, { metadata: metadataArg(o.set, o.unset) });
      print(ctx.json(), v, () => vvolDetails(v));
    });
  vvol
    .command('resize <id>')
    .description('grow a VVOL')
    .requiredOption('--size <size>', 'the new capacity')
    .action(async (id: string, o: { size: string }) => {
      const v = await send<VvolView>(VVOLS.resize, { id: segArg(id) }, { size: sizeArg(o.size, '--size') });
      print(ctx.json(), v, () => vvolDetails(v));
    });
  vvol
    .command('revert <id>')
    .description('revert an unbound VVOL to one of its snapshots')
    .requiredOption('--snapshot <id>', 'the snapshot VVOL id')
    .action(async (id: string, o: { snapshot: string }) => {
      const v = await send<VvolView>(VVOLS.revert, { id: segArg(id) }, { snapshot: o.snapshot });
      print(ctx.json(), v, () => `VVOL ${v.id} reverted to ${o.snapshot}.`);
    });
  vvol
    .command('fast-clone <id>')
    .description('linked clone (FCV) of a VVOL, as a task')
    .requiredOption('--vm <vm>', 'the VM the clone belongs to')
    .option('--policy <name>', 'storage policy')
    .option('--wait', 'wait for the task and show its progress')
    .action(async (id: string, o: { vm: string; policy?: string; wait?: boolean }) => {
      await task(await send<TaskInfo>(VVOLS.fastClone, { id: segArg(id) }, { vm: o.vm, ...(o.policy ? { policy: o.policy } : {}) }), o.wait, 'linked clone');
    });
  vvol
    .command('clone <id>')
    .description('full clone of a VVOL through a replication pair, as a task')
    .requiredOption('--vm <vm>', 'the VM the clone belongs to')
    .option('--container <c>', 'target container (default the source one)')
    .option('--policy <name>', 'storage policy')
    .option('--wait', 'wait for the task and show its progress')
    .action(async (id: string, o: { vm: string; container?: string; policy?: string; wait?: boolean }) => {
      const body: Record<string, unknown> = { vm: o.vm };
      if (o.container !== undefined) body['container'] = o.container;
      if (o.policy !== undefined) body['policy'] = o.policy;
      await task(await send<TaskInfo>(VVOLS.clone, { id: segArg(id) }, body), o.wait, 'full clone');
    });
  vvol
    .command('migrate <id>')
    .description('move a VVOL to another container, as a task')
    .requiredOption('--container <c>', 'target container')
    .option('--wait', 'wait for the task and show its progress')
    .action(async (id: string, o: { container: string; wait?: boolean }) => {
      await task(await send<TaskInfo>(VVOLS.migrate, { id: segArg(id) }, { container: o.container }), o.wait, 'migration');
    });
  vvol
    .command('space <id>')
    .description('capacity and allocated bytes of a VVOL')
    .action(async (id: string) => {
      const s = await send<{ capacity: number; allocated: number }>(VVOLS.space, { id: segArg(id) });
      print(ctx.json(), s, () => `Capacity ${humanSize(s.capacity)}, allocated ${humanSize(s.allocated)}.`);
    });
  vvol
    .command('bitmap <id>')
    .description('allocated bitmap of a VVOL, or with --base its unshared bitmap against a base VVOL')
    .option('--base <id>', 'base VVOL (a snapshot or clone relative)')
    .option('--offset <bytes>', 'first byte')
    .option('--length <bytes>', 'bytes')
    .action(async (id: string, o: { base?: string; offset?: string; length?: string }) => {
      const q = {
        offset: o.offset === undefined ? undefined : sizeArg(o.offset, '--offset'),
        length: o.length === undefined ? undefined : sizeArg(o.length, '--length'),
      };
      const b =
        o.base === undefined
          ? await send<{ granularity: number; bits: string }>(VVOLS.allocatedBitmap, { id: segArg(id) }, undefined, q)
          : await send<{ granularity: number; bits: string }>(VVOLS.unsharedBitmap, { id: segArg(id) }, undefined, { ...q, base: o.base });
      print(
        ctx.json(),
        b,
        () => `Granularity ${humanSize(b.granularity)}: ${[...Buffer.from(b.bits ?? '', 'base64')].map((x) => x.toString(2).padStart(8, '0')).join('')}`,
      );
    });
  vvol
    .command('set-policy <id>')
    .description('apply a storage policy to a VVOL (none clears it)')
    .option('--policy <name>', 'storage policy (absent: none)')
    .action(async (id: string, o: { policy?: string }) => {
      const r = await send<{ vvol: VvolView; warnings: Array<{ id: string; text: string }> }>(
        VVOLS.setPolicy,
        { id: segArg(id) },
        o.policy !== undefined ? { policy: o.policy } : {},
      );
      print(ctx.json(), r, () => [vvolDetails(r.vvol), ...(r.warnings ?? []).map((w) => `${w.id}: ${w.text}`)].join('\n'));
    });
  vvol
    .command('compliance <id>')
    .description('whether a VVOL satisfies its storage policy')
    .action(async (id: string) => {
      const r = await send<Array<{ rule: string; ok: boolean; message?: string }>>(VVOLS.compliance, { id: segArg(id) });
      print(ctx.json(), r, () => JSON.stringify(r, null, 2));
    });
  vvol
    .command('snapshots <id>')
    .description('snapshots of a VVOL')
    .action(async (id: string) => {
      const vs = await send<VvolView[]>(VVOLS.snapshots, { id: segArg(id) });
      print(ctx.json(), vs, () =>
        table(
          ['Id', 'Name', 'LDN(h)', 'Created'],
          vs.map((v) => [v.id, v.snapshotName ?? '', hex4(v.ld), v.created]),
        ),
      );
    });
  vvol
    .command('bindings <id>')
    .description('bindings of a VVOL: PE, subsidiary LU, binds per host')
    .action(async (id: string) => {
      const bs = await send<Array<{ pe: string; peLd: number; slu: number; hosts: Record<string, number> }>>(VVOLS.bindings, { id: segArg(id) });
      print(ctx.json(), bs, () =>
        table(
          ['PE', 'PE LDN(h)', 'SLU', 'Hosts'],
          bs.map((b) => [
            b.pe,
            hex4(b.peLd),
            b.slu,
            Object.entries(b.hosts)
              .map(([h, n]) => `${h}×${n}`)
              .join(', '),
          ]),
        ),
      );
    });
  const batchText = (r: Array<{ id: string; ok: boolean; value?: unknown; error?: { id: string; message: string } }>): string =>
    r.map((x) => (x.ok ? `${x.id}: ${JSON.stringify(x.value)}` : `${x.id}: ${x.error!.id} ${x.error!.message}`)).join('\n');
  vvol
    .command('bind <ids...>')
    .description('bind VVOLs for a host (reference counted)')
    .requiredOption('--host <host>', 'host entry')
    .action(async (ids: string[], o: { host: string }) => {
      const r = await send<Array<{ id: string; ok: boolean }>>(VVOLS.bind, {}, { ids, host: o.host });
      print(ctx.json(), r, () => batchText(r));
    });
  vvol
    .command('unbind <ids...>')
    .description('take one bind of a host away from each VVOL')
    .requiredOption('--host <host>', 'host entry')
    .action(async (ids: string[], o: { host: string }) => {
      const r = await send<Array<{ id: string; ok: boolean }>>(VVOLS.unbind, {}, { ids, host: o.host });
      print(ctx.json(), r, () => batchText(r));
    });
  vvol
    .command('unbind-all <ids...>')
    .description('unbind VVOLs from every host')
    .action(async (ids: string[]) => {
      const r = await send<Array<{ id: string; ok: boolean }>>(VVOLS.unbindAll, {}, { ids });
      print(ctx.json(), r, () => batchText(r));
    });
  vvol
    .command('prepare-snapshot <ids...>')
    .description('first phase of a VM snapshot: returns a prepare id')
    .action(async (ids: string[]) => {
      const r = await send<{ prepareId: string | null; items: Array<{ id: string; ok: boolean }> }>(VVOLS.prepareSnapshot, {}, { ids });
      print(ctx.json(), r, () => `Prepare id: ${r.prepareId ?? '(none)'}\n${batchText(r.items)}`);
    });
  vvol
    .command('abandon-snapshot <prepareId>')
    .description('drop a prepared snapshot that will not be taken')
    .action(async (prepareId: string) => {
      const r = await send<{ abandoned: string }>(VVOLS.abandonSnapshot, { prepareId: segArg(prepareId) });
      print(ctx.json(), r, () => `Prepared snapshot ${r.abandoned} dropped.`);
    });
  vvol
    .command('snapshot <prepareId>')
    .description('second phase: take the prepared snapshot, as a task')
    .option('--name <name>', 'snapshot name')
    .option('--wait', 'wait for the task')
    .action(async (prepareId: string, o: { name?: string; wait?: boolean }) => {
      await task(await send<TaskInfo>(VVOLS.snapshot, { prepareId: segArg(prepareId) }, o.name !== undefined ? { name: o.name } : {}), o.wait, 'snapshot');
    });
  vvol
    .command('containers [container]')
    .description('Storage Containers with space stats (one with its pool name, number or id)')
    .action(async (ref?: string) => {
      const cs = ref === undefined ? await send<ContainerView[]>(CONTAINERS.list) : [await send<ContainerView>(CONTAINERS.show, { ref: segArg(ref) })];
      const out = ref === undefined ? cs : cs[0];
      print(ctx.json(), out, () =>
        table(
          ['Id', 'Pool(h)', 'Name', 'Capacity', 'Used', 'Free', 'Virtual', 'VVOLs'],
          cs.map((c) => [c.id, hex4(c.pool), c.name, humanSize(c.capacity), humanSize(c.used), humanSize(c.free), humanSize(c.virtualCapacity), c.vvols]),
        ),
      );
    });
  vvol
    .command('container-compliance <container>')
    .description('whether a container satisfies a storage policy')
    .requiredOption('--policy <name>', 'storage policy')
    .action(async (ref: string, o: { policy: string }) => {
      const r = await send<unknown[]>(CONTAINERS.compliance, { ref: segArg(ref) }, undefined, { policy: o.policy });
      print(ctx.json(), r, () => JSON.stringify(r, null, 2));
    });
  vvol
    .command('limits')
    .description('the limits the provider advertises')
    .action(async () => {
      const l = await send<Limits>(VASA.limits);
      print(ctx.json(), l, () =>
        details(
          'VVOL provider limits',
          Object.entries(l).map(([k, v]) => [k, v as number]),
        ),
      );
    });
  const since = (s?: string): number | undefined => (s === undefined ? undefined : intArg(s, '--since'));
  const eventsText = (es: VvolEvent[]): string => es.map((e) => JSON.stringify(e)).join('\n');
  vvol
    .command('events')
    .description('provider events')
    .option('--since <seq>', 'only events after this sequence number')
    .action(async (o: { since?: string }) => {
      const es = await send<VvolEvent[]>(VASA.events, {}, undefined, { since: since(o.since) });
      print(ctx.json(), es, () => eventsText(es));
    });
  vvol
    .command('alarms')
    .description('provider alarms')
    .option('--since <seq>', 'only alarms after this sequence number')
    .action(async (o: { since?: string }) => {
      const es = await send<VvolEvent[]>(VASA.alarms, {}, undefined, { since: since(o.since) });
      print(ctx.json(), es, () => eventsText(es));
    });

  const taskCmd = program.command('task').description('VVOL provider tasks (snapshots, clones, migrations)');
  taskCmd
    .command('show <id>')
    .description('show a task: state, progress, result')
    .option('--wait', 'wait for it to end, showing progress')
    .action(async (id: string, o: { wait?: boolean }) => {
      await task(await send<TaskInfo>(VASA.task, { id: segArg(id) }), o.wait, `task ${id}`);
    });
  taskCmd
    .command('cancel <id>')
    .description('cancel a task')
    .action(async (id: string) => {
      const t = await send<TaskInfo>(VASA.cancelTask, { id: segArg(id) });
      print(ctx.json(), t, () => taskText(t));
    });
}
