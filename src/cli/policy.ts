// kura policy ...: storage policies (VVM 3.9), rules under com.nec.jp.ism.vasaprovider.
import type { Command } from 'commander';
import { POLICIES, VASA } from '../api/vasa.js';
import type { StoragePolicy } from '../vvol/policy.js';
import { intArg } from './units.js';
import { nameArg, segArg } from './context.js';
import type { CliContext } from './context.js';
import { print, table } from './format.js';

function rules(p: StoragePolicy): string {
  return JSON.stringify(p, (k, v: unknown) => (k === 'name' || k === 'created' ? undefined : v));
}

export function registerPolicy(program: Command, ctx: CliContext): void {
  const policy = program.command('policy').description('VVOL storage policies');
  policy
    .command('create <name>')
    .description('create a storage policy')
    .option('--raid <raid>', 'RAID0, RAID1 or RAID10')
    .option('--pd-type <type>', 'SSD, SAS, NLSAS or FILE')
    .option('--encryption', 'Specify Encrypt PD')
    .option('--backup', 'Enable Backup')
    .option('--generations <n>', 'backup generations, 1 or 2')
    .option('--auto-delete', 'delete backup volumes with their VVOL')
    .option('--iops-upper <n>', 'I/O upper limit (IOPS)')
    .option('--iops-lower <n>', 'I/O lower limit (IOPS)')
    .action(
      async (
        name: string,
        o: {
          raid?: string;
          pdType?: string;
          encryption?: boolean;
          backup?: boolean;
          generations?: string;
          autoDelete?: boolean;
          iopsUpper?: string;
          iopsLower?: string;
        },
      ) => {
        const body: Record<string, unknown> = { name: nameArg(name) };
        if (o.raid !== undefined) body['raid'] = o.raid;
        if (o.pdType !== undefined) body['pdType'] = o.pdType;
        if (o.encryption) body['encryption'] = true;
        if (o.backup) body['backup'] = true;
        if (o.generations !== undefined) body['generations'] = intArg(o.generations, '--generations');
        if (o.autoDelete) body['autoDelete'] = true;
        if (o.iopsUpper !== undefined) body['iopsUpper'] = intArg(o.iopsUpper, '--iops-upper');
        if (o.iopsLower !== undefined) body['iopsLower'] = intArg(o.iopsLower, '--iops-lower');
        const p = await ctx.client().send<StoragePolicy>(POLICIES.create, {}, body);
        print(ctx.json(), p, () => `Storage policy ${p.name} created: ${rules(p)}`);
      },
    );
  policy
    .command('list')
    .description('list storage policies')
    .action(async () => {
      const ps = await ctx.client().send<StoragePolicy[]>(POLICIES.list);
      print(ctx.json(), ps, () =>
        table(
          ['Name', 'Rules'],
          ps.map((p) => [p.name, rules(p)]),
        ),
      );
    });
  policy
    .command('show <name>')
    .description('show a storage policy')
    .action(async (name: string) => {
      const p = await ctx.client().send<StoragePolicy>(POLICIES.show, { name: segArg(name) });
      print(ctx.json(), p, () => `${p.name}: ${rules(p)}`);
    });
  policy
    .command('delete <name>')
    .description('delete a storage policy (refused while VVOLs use it)')
    .action(async (name: string) => {
      await ctx.client().send(POLICIES.delete, { name: segArg(name) });
      print(ctx.json(), { deleted: name }, () => `Storage policy ${name} deleted.`);
    });
  policy
    .command('capabilities')
    .description('the rules a policy may set (capability metadata)')
    .action(async () => {
      const caps = await ctx.client().send<Array<{ namespace: string; category: string; rules: Array<{ name: string; values: string }> }>>(VASA.capabilities);
      print(ctx.json(), caps, () =>
        table(
          ['Namespace', 'Category', 'Rule', 'Values'],
          caps.flatMap((c) => c.rules.map((r) => [c.namespace, c.category, r.name, r.values])),
        ),
      );
    });
}
