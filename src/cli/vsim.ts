// kura vsim ...: the hypervisor simulator (a vCenter with ESXi hosts) driving
// the VVOL provider as vSphere would. The work is in src/vsim; this file reads
// the command line and prints (docs/vvol.md, "kura vsim").
import type { Command } from 'commander';
import { Hypervisor } from '../vsim/hypervisor.js';
import type { VmInfo, Warning } from '../vsim/hypervisor.js';
import { HostList, defaultStateFile } from '../vsim/host-list.js';
import { runDemo } from '../vsim/demo.js';
import { NO_HOOK } from '../vsim/quiesce-hook.js';
import type { CliContext } from './context.js';
import { details, print, table } from './format.js';
import { progressSink } from './progress.js';
import type { ProgressSink } from './progress.js';
import { hex4, humanSize, sizeArg } from './units.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function vmText(vm: VmInfo): string {
  const head = details(`VM ${vm.name}`, [
    ['Id', vm.id],
    ['Datacenter', vm.datacenter],
    ['Container', vm.container],
    ['Memory', humanSize(vm.memory)],
    ['Power', vm.power === 'on' ? `on (host ${vm.host})` : 'off'],
    ['Quiesce hook', vm.quiesceHook ?? 'none (backups do not keep consistency)'],
  ]);
  const vvols = table(
    ['VVOL', 'Type', 'LDN(h)', 'File', 'Capacity', 'Bound', 'Export'],
    vm.vvols.map((v) => [v.id, v.type, hex4(v.ld), v.name, humanSize(v.size), v.bound ? 'yes' : 'no', v.export ?? '---']),
  );
  const snaps = vm.snapshots.length
    ? table(
        ['Snapshot', 'Taken', 'Memory', 'VVOLs'],
        vm.snapshots.map((s) => [s.name, s.created, s.memory ?? '---', s.vvols.length]),
      )
    : 'Snapshots: none';
  return [head, vvols, snaps].join('\n');
}

const withWarnings = (text: string, ws: Warning[]): string => [text, ...ws.map((w) => `${w.id}: ${w.text}`)].join('\n');

export function registerVsim(program: Command, ctx: CliContext): void {
  const vsim = program
    .command('vsim')
    .description('hypervisor simulator: ESXi hosts backed by kura pathd and VMs made of VVOLs, driving the VVOL provider as vCenter would')
    .option('--state <file>', "the simulator's host list (or KURA_VSIM_STATE; default ~/.local/state/kura/vsim/hosts.json)");
  let bar: ProgressSink | undefined;
  let barLabel = '';
  const hv = (): Hypervisor =>
    new Hypervisor({
      api: ctx.client(),
      hosts: new HostList(vsim.opts<{ state?: string }>().state ?? defaultStateFile()),
      progress: (label, percent) => {
        if (label !== barLabel) {
          bar?.done();
          bar = progressSink(process.stderr);
          barLabel = label;
        }
        bar!.update(percent, null, label);
        if (percent >= 100) {
          bar!.done();
          bar = undefined;
          barLabel = '';
        }
      },
      // What a failed operation left behind: the error that follows cannot carry it.
      warn: (w) => void process.stderr.write(`${w.id}: ${w.text}\n`),
    });
  const show = (vm: VmInfo, warnings: Warning[] = []): void =>
    print(ctx.json(), warnings.length ? { ...vm, warnings } : vm, () => withWarnings(vmText(vm), warnings));

  const host = vsim.command('host').description('simulated ESXi hosts');
  host
    .command('add <host>')
    .description("add a host backed by a running kura pathd: the array's host entry (pathd's initiator), the PEs mapped to it")
    .requiredOption('--pathd <url>', 'control URL of the host\'s kura pathd (the "control=" of its ready line)')
    .action(async (name: string, o: { pathd: string }) => {
      const h = await hv().addHost(name, o.pathd);
      print(ctx.json(), h, () =>
        [`Host ${h.name} added: initiator ${h.initiator}, pathd ${h.pathd}.`, ...h.pes.map((p) => `  PE ${p.pe} at LUN ${p.lun}`)].join('\n'),
      );
    });
  host
    .command('list')
    .description('list the simulated hosts')
    .action(() => {
      const hs = hv().listHosts();
      print(ctx.json(), hs, () =>
        table(
          ['Host', 'Initiator', 'pathd'],
          hs.map((h) => [h.name, h.initiator, h.pathd]),
        ),
      );
    });
  host
    .command('remove <host>')
    .description('remove a host: its host entry on the array goes, and with it every bind it held')
    .option('--force', 'even while VMs run on it')
    .action(async (name: string, o: { force?: boolean }) => {
      await hv().removeHost(name, o.force === true);
      print(ctx.json(), { removed: name }, () => `Host ${name} removed.`);
    });

  const vm = vsim.command('vm').description('virtual machines: config, data and swap VVOLs in a storage container');
  vm.command('create <vm>')
    .description('create a VM: a config VVOL, one data VVOL per --disk and a swap VVOL')
    .requiredOption('--container <pool>', 'storage container (pool name)')
    .requiredOption('--disk <size>', 'a virtual disk of this size (repeat for more disks)', collect)
    .option('--memory <size>', 'guest memory: the size of its swap and memory VVOLs', '1GiB')
    .option('--policy <name>', 'storage policy of its VVOLs')
    .option('--datacenter <dc>', 'datacenter', 'dc0')
    .option('--quiesce-hook <path>', 'guest-quiesce script the backup runs as PATH freeze / PATH thaw (absolute, executable)')
    .action(async (name: string, o: { container: string; disk: string[]; memory: string; policy?: string; datacenter: string; quiesceHook?: string }) => {
      const r = await hv().createVm({
        name,
        container: o.container,
        disks: o.disk.map((d) => sizeArg(d, '--disk')),
        memory: sizeArg(o.memory, '--memory'),
        policy: o.policy,
        datacenter: o.datacenter,
        quiesceHook: o.quiesceHook,
      });
      show(r.vm, r.warnings);
    });
  vm.command('set <vm>')
    .description("change what the guest's tools report: the quiesce hook on every VVOL of the VM")
    .requiredOption('--quiesce-hook <path>', `guest-quiesce script (absolute, executable), or ${NO_HOOK} to remove it`)
    .action(async (name: string, o: { quiesceHook: string }) => show(await hv().setQuiesceHook(name, o.quiesceHook === NO_HOOK ? null : o.quiesceHook)));
  vm.command('list')
    .description('list the VMs that have VVOLs on the array')
    .action(async () => {
      const vs = await hv().listVms();
      print(ctx.json(), vs, () =>
        table(
          ['VM', 'Datacenter', 'Container', 'Power', 'Host', 'VVOLs', 'Snapshots'],
          vs.map((v) => [v.name, v.datacenter, v.container, v.power, v.host ?? '---', v.vvols, v.snapshots]),
        ),
      );
    });
  vm.command('show <vm>')
    .description('show a VM (JSON: vvols[{id, type, ld, bound, export}], snapshots, power, host)')
    .action(async (name: string) => show(await hv().getVm(name)));
  vm.command('power-on <vm>')
    .description('power on: bind its VVOLs for the host through the PE; pathd exports each over NBD')
    .requiredOption('--host <host>', 'simulated host')
    .action(async (name: string, o: { host: string }) => show(await hv().powerOn(name, o.host)));
  vm.command('power-off <vm>')
    .description('power off: unbind its VVOLs')
    .action(async (name: string) => show(await hv().powerOff(name)));
  vm.command('snapshot <vm>')
    .description('take a snapshot (prepare, then snapshot); a powered-on VM saves its memory in a memory VVOL')
    .requiredOption('--name <snapshot>', 'snapshot name')
    .action(async (name: string, o: { name: string }) => {
      const r = await hv().snapshot(name, o.name);
      show(r.vm, r.warnings);
    });
  vm.command('snapshot-delete <vm>')
    .description('delete a snapshot (its ESVs and memory VVOL)')
    .requiredOption('--name <snapshot>', 'snapshot name')
    .action(async (name: string, o: { name: string }) => show(await hv().deleteSnapshot(name, o.name)));
  vm.command('revert <vm>')
    .description('revert to a snapshot; a running VM powers off first and resumes if the snapshot holds its memory')
    .requiredOption('--snapshot <snapshot>', 'snapshot name')
    .action(async (name: string, o: { snapshot: string }) => show(await hv().revert(name, o.snapshot)));
  vm.command('clone <vm> <new>')
    .description('clone a VM: --linked a fast clone sharing its data, else a full copy (asynchronous, with progress)')
    .option('--linked', 'linked clone (FastClone)')
    .option('--container <pool>', 'target container of a full clone (default the source one)')
    .option('--datacenter <dc>', "datacenter of the clone (default the source's)")
    .action(async (name: string, to: string, o: { linked?: boolean; container?: string; datacenter?: string }) => {
      const r = await hv().cloneVm(name, to, { linked: o.linked === true, container: o.container, datacenter: o.datacenter });
      show(r.vm, r.warnings);
    });
  vm.command('migrate <vm>')
    .description('move a powered-off VM to another container (Storage vMotion), with progress')
    .requiredOption('--container <pool>', 'target container')
    .action(async (name: string, o: { container: string }) => show(await hv().migrate(name, o.container)));
  vm.command('delete <vm>')
    .description('delete a powered-off VM: its snapshots, then all its VVOLs')
    .action(async (name: string) => {
      const r = await hv().deleteVm(name);
      print(ctx.json(), r, () => `VM ${name} deleted (${r.deleted.length} VVOLs).`);
    });

  vsim
    .command('demo')
    .description('run a whole VM lifecycle against a running kura serve and print what it did')
    .option('--pathd <url>', 'control URL of a running kura pathd (default: start one for the demo)')
    .option('--keep', 'keep what the demo created (host, VMs, containers) instead of removing it')
    .action(async (o: { pathd?: string; keep?: boolean }) => {
      const state = vsim.opts<{ state?: string }>().state;
      const r = await runDemo({
        api: ctx.client(),
        state,
        pathd: o.pathd,
        keep: o.keep === true,
        out: (line) => {
          if (!ctx.json()) process.stdout.write(line + '\n');
        },
        progress: process.stderr,
      });
      if (ctx.json()) print(true, r, () => '');
    });
}
