// kura host ..., kura fault ..., kura license ...
import type { Command } from 'commander';
import fs from 'node:fs';
import { FAULTS } from '../api/faults.js';
import { HOSTS } from '../api/hosts.js';
import { LICENSES } from '../api/licenses.js';
import { PATH_STATES } from '../api/path-states.js';
import type { HostPaths } from '../api/path-states.js';
import type { AccessControlInfo, ControllerInfo, HostInfo, LicenseInfo, TargetInfo } from '../array/agent.js';
import { argError, intArg } from './units.js';
import { SECRET_FILE_UNREADABLE, SECRET_GIVEN_TWICE, SECRET_MISSING } from '../catalogue/cli.js';
import { nameArg, segArg } from './context.js';
import type { CliContext } from './context.js';
import { print, table } from './format.js';
import { generatePskFile, readPskFile } from './psk-file.js';

function hostTable(hs: HostInfo[]): string {
  return table(
    ['Host', 'Initiators', 'LUN -> LD', 'CHAP', 'NBD PSK'],
    hs.map((h) => [
      h.name,
      h.initiators.join(',') || '-',
      h.luns.map((l) => `${l.lun}->${l.ld}`).join(',') || '-',
      h.chap ? h.chap.user : '-',
      h.nbdPsk ? h.nbdPsk.identity : '-',
    ]),
  );
}

function pathStatesTable(hs: HostPaths[]): string {
  return table(
    ['Host', 'Device', 'Path', 'Portal', 'Controller', 'ALUA', 'State', 'Since'],
    hs.flatMap((h) =>
      h.paths.map((p) => [
        h.stale ? `${h.host} (stale)` : h.host,
        p.device,
        p.path,
        p.portal,
        p.controller === null ? '-' : String(p.controller).padStart(2, '0'),
        p.alua,
        h.stale ? `unknown (last ${p.state})` : p.state,
        p.since,
      ]),
    ),
  );
}

/** The secret from --secret or --secret-file (which keeps it out of ps and shell history). */
function secretArg(o: { secret?: string; secretFile?: string }): string {
  if (o.secret !== undefined && o.secretFile !== undefined) throw argError(SECRET_GIVEN_TWICE, undefined);
  if (o.secretFile !== undefined) {
    try {
      return fs.readFileSync(o.secretFile, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw argError(SECRET_FILE_UNREADABLE, { secretFile: o.secretFile, reason: (e as Error).message });
    }
  }
  if (o.secret !== undefined) return o.secret;
  throw argError(SECRET_MISSING, undefined);
}

function accessText(a: AccessControlInfo): string {
  if (!a.enabled)
    return `Access control: off (every initiator sees every LD at LUN = LD number${a.hosts > 0 ? `; the ${a.hosts} host entr${a.hosts === 1 ? 'y is' : 'ies are'} ignored` : ''}).`;
  if (a.hosts === 0) return 'Access control: on, with no host entries: no initiator sees any LD (kura host create NAME --initiator IQN, then kura host map).';
  return `Access control: on (${a.hosts} host entr${a.hosts === 1 ? 'y' : 'ies'}): each initiator sees only the LDs mapped to its host entry.`;
}

function targetText(t: TargetInfo): string {
  const portals = t.portals.map((p) => `${p.host}:${p.port} (controller ${String(p.controller).padStart(2, '0')}, ${p.state})`);
  return [
    `Target Name     : ${t.name}`,
    `Portals         : ${portals.join(', ')}`,
    `Mutual CHAP     : ${t.mutualChap ? `user ${t.mutualChap.user}` : 'off'}`,
  ].join('\n');
}

function controllerTable(cs: ControllerInfo[]): string {
  return table(
    ['Controller', 'State', 'Host ports'],
    cs.map((c) => [String(c.number).padStart(2, '0'), c.state, c.ports.map((p) => `${p.host}:${p.port}(${p.state})`).join(',')]),
  );
}

export function registerHost(program: Command, ctx: CliContext): void {
  const host = program.command('host').description('host entries: which initiators see which LUNs');
  host
    .command('create <name>')
    .description('create a host entry')
    .option('--initiator <iqn...>', 'initiator IQNs')
    .action(async (name: string, o: { initiator?: string[] }) => {
      const h = await ctx.client().send<HostInfo>(HOSTS.create, {}, { name: nameArg(name), initiators: o.initiator ?? [] });
      print(ctx.json(), h, () =>
        h.accessControlStarted
          ? `${hostTable([h])}\nAccess control is now on: initiators see only the LDs mapped to their host entry (kura host map), others see none.\nDeleting host entries does not turn it off; kura host access stop --force does.`
          : hostTable([h]),
      );
    });
  host
    .command('add-initiator <host> <iqn>')
    .description('add an initiator to a host')
    .action(async (name: string, iqn: string) => {
      const h = await ctx.client().send<HostInfo>(HOSTS.addInitiator, { name: segArg(name) }, { iqn });
      print(ctx.json(), h, () => hostTable([h]));
    });
  host
    .command('remove-initiator <host> <iqn>')
    .description('remove an initiator from a host')
    .action(async (name: string, iqn: string) => {
      const h = await ctx.client().send<HostInfo>(HOSTS.removeInitiator, { name: segArg(name), iqn: segArg(iqn) });
      print(ctx.json(), h, () => hostTable([h]));
    });
  host
    .command('map <host> <ld>')
    .description('map an LD into the host LUN space')
    .option('--lun <lun>', 'LUN number (default: lowest free)')
    .action(async (name: string, ld: string, o: { lun?: string }) => {
      const body: Record<string, unknown> = { ld };
      if (o.lun !== undefined) body['lun'] = intArg(o.lun, '--lun');
      const h = await ctx.client().send<HostInfo>(HOSTS.map, { name: segArg(name) }, body);
      print(ctx.json(), h, () => hostTable([h]));
    });
  host
    .command('unmap <host> <lun>')
    .description('unmap a LUN')
    .action(async (name: string, lun: string) => {
      const h = await ctx.client().send<HostInfo>(HOSTS.unmap, { name: segArg(name), lun: intArg(lun, 'LUN') });
      print(ctx.json(), h, () => hostTable([h]));
    });
  host
    .command('list')
    .description('list host entries')
    .action(async () => {
      const hs = await ctx.client().send<HostInfo[]>(HOSTS.list);
      if (ctx.json() || hs.length > 0) {
        print(ctx.json(), hs, () => hostTable(hs));
        return;
      }
      const a = await ctx.client().send<AccessControlInfo>(HOSTS.access);
      print(false, hs, () =>
        a.enabled
          ? 'No host entries, and access control is on: no initiator sees any LD.'
          : 'No host entries: access control is off, every initiator sees every LD at LUN = LD number, and every NBD client every LD.',
      );
    });

  host
    .command('paths')
    .description(
      "the path states the hosts' kura pathd agents reported (kura pathd --manager URL); a host whose reports stopped shows its last known states as stale",
    )
    .option('--host <text>', 'only hosts whose name (HOSTNAME/INITIATOR) contains this text')
    .action(async (o: { host?: string }) => {
      const all = await ctx.client().send<HostPaths[]>(PATH_STATES.list);
      const hs = o.host === undefined ? all : all.filter((h) => h.host.includes(o.host!));
      print(ctx.json(), hs, () => (hs.length === 0 ? 'No path reports (start kura pathd with --manager on the hosts).' : pathStatesTable(hs)));
    });

  const access = host.command('access').description('access control: whether host entries decide which initiator sees which LD');
  access
    .command('show')
    .description('say whether access control is on')
    .action(async () => {
      const a = await ctx.client().send<AccessControlInfo>(HOSTS.access);
      print(ctx.json(), a, () => accessText(a));
    });
  access
    .command('start')
    .description('start access control: initiators see only the LDs mapped to their host entry (none without one)')
    .action(async () => {
      const a = await ctx.client().send<AccessControlInfo>(HOSTS.startAccess);
      print(ctx.json(), a, () => accessText(a));
    });
  access
    .command('stop')
    .description('stop access control: every initiator then sees every LD (needs --force)')
    .option('--force', 'confirm that every initiator may see every LD')
    .action(async (o: { force?: boolean }) => {
      const a = await ctx.client().send<AccessControlInfo>(HOSTS.stopAccess, {}, { force: o.force === true });
      process.stderr.write('warning: access control is off: every initiator sees every LD at LUN = LD number, whatever the host entries say.\n');
      print(ctx.json(), a, () => accessText(a));
    });
  host
    .command('delete <host>')
    .description('delete a host entry')
    .action(async (name: string) => {
      await ctx.client().send(HOSTS.delete, { name: segArg(name) });
      print(ctx.json(), { deleted: name }, () => `Host ${name} deleted.`);
    });

  host
    .command('set-chap <host>')
    .description("require one-way CHAP from the host's initiators")
    .requiredOption('--user <name>', 'CHAP user name the initiators send')
    .option('--secret <secret>', 'CHAP secret (12 to 255 characters)')
    .option('--secret-file <file>', 'read the secret from a file')
    .action(async (name: string, o: { user: string; secret?: string; secretFile?: string }) => {
      const h = await ctx.client().send<HostInfo>(HOSTS.setChap, { name: segArg(name) }, { user: o.user, secret: secretArg(o) });
      print(ctx.json(), h, () => hostTable([h]));
    });
  host
    .command('clear-chap <host>')
    .description("stop requiring CHAP from the host's initiators")
    .action(async (name: string) => {
      const h = await ctx.client().send<HostInfo>(HOSTS.clearChap, { name: segArg(name) });
      print(ctx.json(), h, () => hostTable([h]));
    });

  host
    .command('set-nbd-psk <host>')
    .description("give the host's NBD clients a TLS pre-shared key (PSK identity: the host name); clients connect with nbds://HOST@ADDR/LD?tls-psk-file=FILE")
    .requiredOption('--psk-file <file>', 'PSK file ("identity:hexkey" lines, as psktool and nbdkit use); the line for the host is read')
    .option('--generate', 'write a new random 32-byte key to --psk-file (which must not exist), mode 0600')
    .action(async (name: string, o: { pskFile: string; generate?: boolean }) => {
      const fresh = o.generate ? generatePskFile(o.pskFile, name) : undefined;
      const key = fresh ? fresh.key : readPskFile(o.pskFile, name);
      let h: HostInfo;
      try {
        h = await ctx.client().send<HostInfo>(HOSTS.setNbdPsk, { name: segArg(name) }, { key });
      } catch (e) {
        fresh?.discard();
        throw e;
      }
      print(ctx.json(), h, () => hostTable([h]) + (fresh ? `\nNew key written to ${o.pskFile} (mode 0600).` : ''));
    });
  host
    .command('clear-nbd-psk <host>')
    .description("remove the host's NBD pre-shared key")
    .action(async (name: string) => {
      const h = await ctx.client().send<HostInfo>(HOSTS.clearNbdPsk, { name: segArg(name) });
      print(ctx.json(), h, () => hostTable([h]));
    });

  const target = program.command('target').description("the array's iSCSI target");
  target
    .command('show')
    .description('target name, portals and mutual CHAP')
    .action(async () => {
      const t = await ctx.client().send<TargetInfo>(HOSTS.target);
      print(ctx.json(), t, () => targetText(t));
    });
  target
    .command('set-chap')
    .description('credentials the target answers initiators with (mutual CHAP)')
    .requiredOption('--user <name>', 'CHAP user name the target sends')
    .option('--secret <secret>', 'CHAP secret (12 to 255 characters)')
    .option('--secret-file <file>', 'read the secret from a file')
    .action(async (o: { user: string; secret?: string; secretFile?: string }) => {
      const t = await ctx.client().send<TargetInfo>(HOSTS.setTargetChap, {}, { user: o.user, secret: secretArg(o) });
      print(ctx.json(), t, () => targetText(t));
    });
  target
    .command('clear-chap')
    .description('remove the mutual CHAP credentials')
    .action(async () => {
      const t = await ctx.client().send<TargetInfo>(HOSTS.clearTargetChap);
      print(ctx.json(), t, () => targetText(t));
    });

  const fault = program.command('fault').description('fault injection for tests and drills');
  for (const action of ['controller-down', 'controller-up', 'port-down', 'port-up']) {
    const isCtl = action.startsWith('controller');
    fault
      .command(`${action} <${isCtl ? 'controller' : 'host:port'}>`)
      .description(
        isCtl
          ? `take controller N ${action.endsWith('down') ? 'down (its LDs move to the other)' : 'back up'}`
          : `take a host port ${action.endsWith('down') ? 'down (drops its connections)' : 'back up'}`,
      )
      .action(async (target: string) => {
        if (isCtl) intArg(target, 'controller');
        const cs = await ctx.client().send<ControllerInfo[]>(FAULTS.inject, {}, { action, target });
        print(ctx.json(), cs, () => controllerTable(cs));
      });
  }
  fault
    .command('list')
    .description('controllers and host ports with their states')
    .action(async () => {
      const cs = await ctx.client().send<ControllerInfo[]>(FAULTS.controllers);
      print(ctx.json(), cs, () => controllerTable(cs));
    });

  const lic = program.command('license').description('feature licences');
  lic
    .command('list')
    .description('list licences')
    .action(async () => {
      const ls = await ctx.client().send<LicenseInfo[]>(LICENSES.list);
      print(ctx.json(), ls, () =>
        table(
          ['Licence', 'State', 'Unlocked'],
          ls.map((l) => [l.name, l.state, l.unlocked ?? '-']),
        ),
      );
    });
  lic
    .command('unlock <name>')
    .description('unlock a licence (VirtualVolume, DynamicSnapVolume, VolumeClone, DynamicDataReplication, ThinProvisioning, IOLoadManager)')
    .action(async (name: string) => {
      const ls = await ctx.client().send<LicenseInfo[]>(LICENSES.unlock, { name: segArg(name) });
      print(ctx.json(), ls, () =>
        table(
          ['Licence', 'State', 'Unlocked'],
          ls.map((l) => [l.name, l.state, l.unlocked ?? '-']),
        ),
      );
    });
}
