// kura backup ... (VM backup and restore, VVM App. E.1.1, F.3), kura vm ...
// (the VM-VVOL relation, VVM E.1.2, and the generated backup script, F.3.4)
// and kura provider ... (the seed's SetProviderConf, VVM 2.3.1, and the
// relation file's configuration check, App. C).
import fs from 'node:fs';
import type { Command } from 'commander';
import { BACKUPS, PROVIDER } from '../api/backup.js';
import { SETTINGS_INTERVAL_INVALID } from '../catalogue/backup.js';
import type { BackupJob, VmBackupView } from '../vvol/backup/engine.js';
import type { ProviderSettings } from '../vvol/backup/settings.js';
import type { CheckResult } from '../vvol/relation/writer.js';
import { relationLines, type VmRelationView } from '../vvol/relation/view.js';
import type { ApiClient } from './client.js';
import { segArg } from './context.js';
import type { CliContext } from './context.js';
import { details, print, table } from './format.js';
import { progressSink } from './progress.js';
import { intArg } from './units.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const when = (t: string | null | undefined): string => t ?? '－';

/** Follows a job, printing its new lines on stdout and, on a terminal, a progress bar on stderr; the job as it ended. */
async function follow(client: ApiClient, job: BackupJob, quiet: boolean): Promise<BackupJob> {
  const bar = process.stderr.isTTY && !quiet ? progressSink(process.stderr) : null;
  let shown = 0;
  let j = job;
  const lines = (upTo: number) => {
    if (quiet) return;
    for (; shown < upTo; shown++) {
      if (bar) process.stderr.write('\r\x1b[K');
      process.stdout.write(j.lines[shown] + '\n');
    }
  };
  for (;;) {
    // The failure's message is printed with its id below, not as a plain line.
    lines(j.state === 'failed' ? j.lines.length - 1 : j.lines.length);
    if (j.finished !== null) break;
    if (bar && j.phase === 'Backing up') bar.update(j.progress, j.remainingSeconds, 'Backing up');
    if (bar && j.phase === 'Restore completed (copying in background)') bar.update(j.progress, j.remainingSeconds, 'Restoring');
    if (bar && j.state === 'queued') bar.update(0, null, `Waiting (${j.queuePosition} ahead in the queue)`);
    await new Promise((r) => setTimeout(r, 200));
    j = await client.send<BackupJob>(BACKUPS.job, { id: j.id });
  }
  bar?.done();
  return j;
}

function failed(j: BackupJob): void {
  if (j.error) process.stderr.write(`${j.error.id}: ${j.error.message}\n  ${j.error.action}\n`);
  process.exitCode = 1;
}

function showText(v: VmBackupView): string {
  const head = details('VM', [
    ['VM Name', v.vm],
    ['DataCenter Name', v.datacenter],
    ['VM Id', v.vmId || '－'],
    ['Backups', String(v.generations)],
    [
      'Backup State',
      v.state + (v.job?.phase === 'Backing up' && v.job.remainingSeconds !== null ? ` (Time remaining: ${remaining(v.job.remainingSeconds)})` : ''),
    ],
    ['Last Backup Time', when(v.lastBackupTime)],
    ['Previous Backup Time', when(v.previousBackupTime)],
    ...(v.message ? ([['Message', v.message]] as Array<[string, string]>) : []),
  ]);
  const disks = table(
    [
      'Disk',
      'Type',
      'LD Name',
      'Backup State',
      'Generation States',
      'Last Backup',
      'Last Backup LD',
      'Last Backup Time',
      'Previous Backup',
      'Previous Backup LD',
      'Previous Backup Time',
    ],
    v.disks.map((d) => [
      d.name,
      d.type,
      d.ldName,
      d.backupState,
      d.generations.map((g) => `${g.generation}: ${g.state}`).join('; '),
      d.last?.pool ?? '－',
      d.last?.rvName ?? '－',
      when(d.last?.time),
      d.previous?.pool ?? '－',
      d.previous?.rvName ?? '－',
      when(d.previous?.time),
    ]),
  );
  return `${head}\n${disks}`;
}

/** "xx hours yy minutes" as the seed's backup information screen says it (VVM L2947). */
function remaining(s: number): string {
  return `${Math.floor(s / 3600)} hours ${Math.floor((s % 3600) / 60)} minutes`;
}

export function registerBackup(program: Command, ctx: CliContext): void {
  const send = <T>(...a: Parameters<ApiClient['send']>): Promise<T> => ctx.client().send<T>(...a);
  const backup = program.command('backup').description('VM backup and restore through the backup volumes in vvolbackup pools');
  backup
    .command('run <vm> <datacenter>')
    .description('online backup of a VM (onlineBackup VM DATACENTER): exit 0 on success, 1 on failure')
    .option('--no-wait', 'return once the backup is started (or queued)')
    .action(async (vm: string, dc: string, o: { wait: boolean }) => {
      const job = await send<BackupJob>(BACKUPS.run, { vm: segArg(vm) }, { datacenter: dc });
      if (!o.wait) return print(ctx.json(), job, () => `${job.lines.join('\n')}\nBackup job ${job.id}: ${job.state}.`);
      const done = await follow(ctx.client(), job, ctx.json());
      if (ctx.json()) print(true, done, () => '');
      if (done.state !== 'success') failed(done);
    });
  backup
    .command('cancel <vm> [datacenter]')
    .description('cancel the backup of a VM: it ends as "Backup failed"')
    .action(async (vm: string, dc: string | undefined) => {
      const job = await send<BackupJob>(BACKUPS.cancel, { vm: segArg(vm) }, dc === undefined ? {} : { datacenter: dc });
      print(ctx.json(), job, () => `Cancelling the backup of VM(${job.datacenter}/${job.vm}) (job ${job.id}).`);
    });
  backup
    .command('restore <vm> [datacenter]')
    .description('restore a VM from its last or previous backup (data disks; the config VVOL with --config)')
    .requiredOption('--from <which>', 'last or previous')
    .option('--disk <name>', 'a disk to restore (repeatable; default: every data disk)', collect)
    .option('--config', 'restore the config VVOL too')
    .option('--wait', 'wait until the background copy has ended')
    .action(async (vm: string, dc: string | undefined, o: { from: string; disk?: string[]; config?: boolean; wait?: boolean }) => {
      const body: Record<string, unknown> = { from: o.from };
      if (dc !== undefined) body['datacenter'] = dc;
      if (o.disk) body['disks'] = o.disk;
      if (o.config) body['config'] = true;
      const job = await send<BackupJob>(BACKUPS.restore, { vm: segArg(vm) }, body);
      const said = () => `${job.phase} (VM ${job.datacenter}/${job.vm}: ${job.disks.map((d) => `${d.disk} from ${d.rvName}`).join(', ')})`;
      if (!o.wait) return print(ctx.json(), job, said);
      if (!ctx.json()) process.stdout.write(said() + '\n');
      const done = await follow(ctx.client(), { ...job, lines: [] }, ctx.json());
      print(ctx.json(), done, () => done.phase);
      if (done.state !== 'success') failed(done);
    });
  backup
    .command('list')
    .description('backup state of every VM')
    .action(async () => {
      const vms = await send<VmBackupView[]>(BACKUPS.list);
      print(ctx.json(), vms, () =>
        table(
          ['VM', 'DataCenter', 'Backups', 'Backup State', 'Last Backup Time', 'Previous Backup Time'],
          vms.map((v) => [v.vm, v.datacenter, String(v.generations), v.state, when(v.lastBackupTime), when(v.previousBackupTime)]),
        ),
      );
    });
  backup
    .command('show <vm> [datacenter]')
    .description('backup state of a VM and of each disk')
    .action(async (vm: string, dc: string | undefined) => {
      const v = await send<VmBackupView>(BACKUPS.show, { vm: segArg(vm) }, undefined, { datacenter: dc });
      print(ctx.json(), v, () => showText(v));
    });
  backup
    .command('job <id>')
    .description('a backup or restore job')
    .action(async (id: string) => {
      const j = await send<BackupJob>(BACKUPS.job, { id: segArg(id) });
      print(
        ctx.json(),
        j,
        () => `${j.id} (${j.kind} of ${j.datacenter}/${j.vm}): ${j.state}, ${j.phase}, ${j.progress}%${j.error ? `\n${j.error.id}: ${j.error.message}` : ''}`,
      );
    });

  const vmCmd = program.command('vm').description('virtual machines as the VVOL provider knows them');
  vmCmd
    .command('relation <vm> <datacenter>')
    .description('the relation between a VM and its VVOLs (VM-VVOLRelation), from the latest relation file')
    .action(async (vm: string, dc: string) => {
      const r = await send<VmRelationView>(BACKUPS.relation, { vm: segArg(vm) }, undefined, { datacenter: dc });
      print(ctx.json(), r, () => relationLines(r).join('\n'));
    });
  vmCmd
    .command('backup-script <vm> <datacenter>')
    .description('generate a shell script that backs the VM up')
    .option('--output <file>', 'write the script to this file (mode 0755) instead of stdout')
    .action(async (vm: string, dc: string, o: { output?: string }) => {
      const r = await send<{ script: string }>(BACKUPS.script, { vm: segArg(vm) }, undefined, { datacenter: dc });
      if (o.output === undefined) return print(ctx.json(), r, () => r.script.trimEnd());
      fs.writeFileSync(o.output, r.script, { mode: 0o755 });
      print(ctx.json(), { file: o.output }, () => `Backup script written to ${o.output}.`);
    });

  const provider = program.command('provider').description('VVOL provider settings (SetProviderConf) and relation files');
  provider
    .command('show')
    .description('provider settings')
    .action(async () => {
      const s = await send<ProviderSettings>(PROVIDER.show);
      print(ctx.json(), s, () =>
        [
          details('Provider', [
            ['User', s.user ?? '---'],
            ['vCenterServer', s.vcenter ? `${s.vcenter.ip}:${s.vcenter.port} (${s.vcenter.user})` : '---'],
            ['Output Interval (min)', String(s.interval)],
          ]),
          '[DISKARRAY]',
          ...s.arrays,
        ].join('\n'),
      );
    });
  provider
    .command('set')
    .description("change provider settings; prints the seed's success lines")
    .option('--user <name>', 'provider user name (with --password)')
    .option('--password <password>', 'provider password')
    .option('--add-array <ip>', 'register a disk array (IPv4; at most 4)')
    .option('--delete-array <ip>', 'unregister a disk array')
    .option('--vcenter <ip>', 'vCenter Server IPv4 address (with --vcenter-user and --vcenter-password)')
    .option('--vcenter-port <port>', 'vCenter Server HTTPS port (443)')
    .option('--vcenter-user <name>', 'vCenter Single Sign On user')
    .option('--vcenter-password <password>', 'vCenter Single Sign On password')
    .option('--interval <minutes>', 'relation file output interval, 5-1440')
    .action(
      async (o: {
        user?: string;
        password?: string;
        addArray?: string;
        deleteArray?: string;
        vcenter?: string;
        vcenterPort?: string;
        vcenterUser?: string;
        vcenterPassword?: string;
        interval?: string;
      }) => {
        const body: Record<string, unknown> = {
          user: o.user,
          password: o.password,
          addArray: o.addArray,
          deleteArray: o.deleteArray,
          vcenterIp: o.vcenter,
          vcenterUser: o.vcenterUser,
          vcenterPassword: o.vcenterPassword,
        };
        if (o.vcenterPort !== undefined) body['vcenterPort'] = intArg(o.vcenterPort, '--vcenter-port');
        // Not an integer at all: the seed's message here; the server checks the range (and says the same).
        if (o.interval !== undefined) {
          if (!/^-?\d+$/.test(o.interval)) throw SETTINGS_INTERVAL_INVALID();
          body['interval'] = Number(o.interval);
        }
        for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
        const r = await send<{ settings: ProviderSettings; lines: string[] }>(PROVIDER.set, {}, body);
        print(ctx.json(), r, () => r.lines.join('\n'));
      },
    );
  provider
    .command('relation')
    .description('relation files')
    .command('write')
    .description('run the configuration check now: write a relation file if the configuration changed')
    .action(async () => {
      const r = await send<CheckResult>(PROVIDER.writeRelation);
      print(ctx.json(), r, () => (r.written ? `Relation file ${r.file} written.` : 'The configuration has not changed: no relation file written.'));
    });
}
