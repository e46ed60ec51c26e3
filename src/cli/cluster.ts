// kura cluster ...: the cluster node agent (`kura cluster node`), failover
// groups, cluster shutdown, and the commands group scripts call (armload,
// armkill, armloadc, armsleep, armlog). The cluster is found through --etcd
// or KURA_ETCD; the script commands talk to their node's agent through
// KURA_CLUSTER_SOCKET, which the agent sets for its scripts.
import http from 'node:http';
import path from 'node:path';
import type { Command } from 'commander';
import { KuraError } from '../errors.js';
import { ClusterAdmin } from '../cluster/admin.js';
import { NodeAgent } from '../cluster/agent.js';
import type { GroupConfig, GroupView } from '../cluster/model.js';
import { checkName, parseFailback, parseResource, parseServers, resourceText } from '../cluster/model.js';
import { ClusterStore, endpointsFrom } from '../cluster/store.js';
import type { PowerSettings } from '../cluster/store.js';
import { neededConfirmation, parsePowerEvent, validatePowerConfig } from '../cluster/power.js';
import type { UpsConfig } from '../cluster/power.js';
import { resultText } from '../cluster/jobs.js';
import type { JobRecord } from '../cluster/jobs.js';
import {
  AGENT_UNREACHABLE,
  ARMLOAD_NEEDS_COMMAND,
  NODE_DATA_DIR,
  NODE_NEEDS_NAME_DATA,
  POWER_EVENT_NEEDS_UPS,
  SECONDS_INVALID,
  UPS_SPEC_INVALID,
} from '../catalogue/cluster.js';
import type { CliContext } from './context.js';
import { details, print, table } from './format.js';
import { CliArgError } from './units.js';

function arg<T>(v: T | KuraError): T {
  if (v instanceof KuraError) throw new CliArgError(v.id, v.message, v.action);
  return v;
}

function seconds(v: string, option: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw arg(SECONDS_INVALID({ option, value: v }));
  return n;
}

async function withAdmin<T>(cmd: Command, fn: (a: ClusterAdmin) => Promise<T>): Promise<T> {
  const store = new ClusterStore(arg(endpointsFrom(cmd.optsWithGlobals<{ etcd?: string }>().etcd)));
  try {
    return await fn(new ClusterAdmin(store));
  } finally {
    store.close();
  }
}

function groupText(g: GroupView): string {
  return details(`Failover Group ${g.name}`, [
    ['State', g.state],
    ['Server', g.server ?? '---'],
    ['Servers (priority)', g.servers.map((s, i) => (i === 0 ? `${s} (HOME)` : s)).join(', ')],
    ['Failback', g.failback],
    ['Resources', g.resources.map(resourceText).join(', ') || '---'],
  ]);
}

function groupJson(g: GroupView): unknown {
  return { name: g.name, state: g.state, server: g.server, servers: g.servers, failback: g.failback, resources: g.resources.map(resourceText) };
}

/** One call to the node agent's control socket (from inside a group script). */
function agentCall(route: string, body: unknown): Promise<unknown> {
  const socket = process.env['KURA_CLUSTER_SOCKET'] ?? '';
  return new Promise((resolve, reject) => {
    if (!socket) {
      reject(AGENT_UNREACHABLE({ socket: '(KURA_CLUSTER_SOCKET unset)', reason: 'not run from a group script' }));
      return;
    }
    const req = http.request({ socketPath: socket, path: route, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let raw = '';
      res.on('data', (c: Buffer) => (raw += c.toString()));
      res.on('end', () => {
        const v = (raw ? JSON.parse(raw) : {}) as { error?: { id: string; code: string; message: string; action: string } };
        if (v.error) reject(new KuraError(v.error.id, 'EIO', v.error.message, v.error.action));
        else resolve(v);
      });
    });
    req.on('error', (e) => reject(AGENT_UNREACHABLE({ socket, reason: e.message })));
    req.end(JSON.stringify(body));
  });
}

function groupOfScript(): string {
  return process.env['ARMS_GROUPNAME'] ?? process.env['KURA_GROUPNAME'] ?? '';
}

export function registerCluster(program: Command, ctx: CliContext): void {
  const cluster = program
    .command('cluster')
    .description('cluster integration: node agents, failover groups, script commands')
    .option('--etcd <urls>', 'etcd client URLs, comma separated (or KURA_ETCD)');

  const node = cluster
    .command('node')
    .description('run a cluster node agent (prints "ready" once joined); `node list` lists the nodes')
    .option('--name <node>', "this node's name (one of the groups' servers)")
    .option('--data <dir>', 'data directory (scripts run here; logs, pid files)')
    .option('--heartbeat-timeout <s>', 'lease TTL: a node silent this long fails its groups over (default 5)', '5')
    .option('--pathd <url>', "this node's kura pathd control URL, for shared-disk resources (or KURA_PATHD_URL)")
    .option('--netns <name>', 'network namespace the floating IPs are added in')
    .action(async (o: { name?: string; data?: string; heartbeatTimeout: string; pathd?: string; netns?: string }, cmd: Command) => {
      const etcd = arg(endpointsFrom(cmd.optsWithGlobals<{ etcd?: string }>().etcd));
      if (!o.name || !o.data) throw arg(NODE_NEEDS_NAME_DATA());
      const bad = checkName(o.name);
      if (bad) throw arg(bad);
      const agent = new NodeAgent({
        name: o.name,
        etcd,
        dataDir: path.resolve(o.data),
        heartbeatTimeout: seconds(o.heartbeatTimeout, '--heartbeat-timeout'),
        pathd: o.pathd ?? process.env['KURA_PATHD_URL'],
        netns: o.netns,
        kuraBin: path.resolve(process.argv[1] ?? 'bin/kura.js'),
      });
      try {
        await agent.start();
      } catch (e) {
        await agent.close();
        if (e instanceof KuraError) throw e;
        throw NODE_DATA_DIR({ dir: o.data, reason: (e as Error).message });
      }
      process.stdout.write('ready\n');
      // SIGTERM / SIGINT is a server shutdown: the groups stop (ARMS_FACTOR=SERVERSHUTDOWN) and fail over.
      const down = () => void agent.serverShutdown();
      process.once('SIGTERM', down);
      process.once('SIGINT', down);
      await agent.closed;
      process.exit(0);
    });
  node
    .command('list')
    .description('the nodes alive in the cluster')
    .action(async (_o: unknown, cmd: Command) => {
      const nodes = await withAdmin(cmd, (a) => a.nodes());
      print(ctx.json(), nodes, () =>
        table(
          ['Node', 'State'],
          nodes.map((n) => [n.name, n.state]),
        ),
      );
    });

  const group = cluster.command('group').description('failover groups');
  group
    .command('create <name>')
    .description('create a failover group (offline until started)')
    .requiredOption('--servers <list>', 'servers in priority order, comma separated (the first is the primary)')
    .option('--start-script <file>', 'run after the resources start (ARMS_* environment)')
    .option('--stop-script <file>', 'run before the resources stop')
    .option('--failback <mode>', 'auto: return to a higher-priority server when it is back; manual (default)')
    .option(
      '--resource <spec>',
      'disk:DEV, ip:ADDR/PREFIX@IF, exec:START[::STOP], monitor[!]:ID=CMD, sync:KEY (repeatable, start order)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .action(async (name: string, o: { servers: string; startScript?: string; stopScript?: string; failback?: string; resource: string[] }, cmd: Command) => {
      const bad = checkName(name);
      if (bad) throw arg(bad);
      const cfg: GroupConfig = {
        name,
        servers: arg(parseServers(o.servers)),
        resources: o.resource.map((r) => arg(parseResource(r))),
        startScript: o.startScript ? path.resolve(o.startScript) : undefined,
        stopScript: o.stopScript ? path.resolve(o.stopScript) : undefined,
        failback: arg(parseFailback(o.failback)),
      };
      const g = await withAdmin(cmd, (a) => a.create(cfg));
      print(ctx.json(), groupJson(g), () => groupText(g));
    });
  group
    .command('set <name>')
    .description("change a group's settings (a running group is stopped, as the seed does)")
    .option('--servers <list>', 'servers in priority order')
    .option('--start-script <file>', 'start script')
    .option('--stop-script <file>', 'stop script')
    .option('--failback <mode>', 'auto or manual')
    .action(async (name: string, o: { servers?: string; startScript?: string; stopScript?: string; failback?: string }, cmd: Command) => {
      const servers = o.servers !== undefined ? arg(parseServers(o.servers)) : undefined;
      const failback = o.failback !== undefined ? arg(parseFailback(o.failback)) : undefined;
      const g = await withAdmin(cmd, (a) =>
        a.set(name, (c) => ({
          ...c,
          servers: servers ?? c.servers,
          failback: failback ?? c.failback,
          startScript: o.startScript !== undefined ? path.resolve(o.startScript) : c.startScript,
          stopScript: o.stopScript !== undefined ? path.resolve(o.stopScript) : c.stopScript,
        })),
      );
      print(ctx.json(), groupJson(g), () => groupText(g));
    });
  group
    .command('show <name>')
    .description('state, server and settings of a group')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const g = await withAdmin(cmd, (a) => a.show(name));
      print(ctx.json(), groupJson(g), () => groupText(g));
    });
  group
    .command('list')
    .description('every group')
    .action(async (_o: unknown, cmd: Command) => {
      const gs = await withAdmin(cmd, (a) => a.list());
      print(ctx.json(), gs.map(groupJson), () =>
        table(
          ['Group', 'State', 'Server', 'Servers'],
          gs.map((g) => [g.name, g.state, g.server ?? '---', g.servers.join(',')]),
        ),
      );
    });
  group
    .command('start <name>')
    .description('start the group on its first available priority server (or --to NODE)')
    .option('--to <node>', 'start it on this server')
    .action(async (name: string, o: { to?: string }, cmd: Command) => {
      const g = await withAdmin(cmd, (a) => a.start(name, o.to));
      print(ctx.json(), groupJson(g), () => `Group ${name}: start requested.`);
    });
  group
    .command('stop <name>')
    .description('stop the group')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const g = await withAdmin(cmd, (a) => a.stop(name));
      print(ctx.json(), groupJson(g), () => `Group ${name}: stop requested.`);
    });
  group
    .command('move <name>')
    .description('move the group: stop on its server, then start on --to (default: the next alive priority server)')
    .option('--to <node>', 'target server')
    .action(async (name: string, o: { to?: string }, cmd: Command) => {
      const g = await withAdmin(cmd, (a) => a.move(name, o.to));
      print(ctx.json(), groupJson(g), () => `Group ${name}: move requested.`);
    });
  group
    .command('delete <name>')
    .description('delete a stopped group')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await withAdmin(cmd, (a) => a.delete(name));
      print(ctx.json(), { deleted: name }, () => `Group ${name} deleted.`);
    });
  group
    .command('sync-set <name> <key> <value>')
    .description('set a synchronized configuration key of the group (the node running it reads DATA/sync/GROUP/KEY)')
    .action(async (name: string, key: string, value: string, _o: unknown, cmd: Command) => {
      await withAdmin(cmd, (a) => a.syncSet(name, key, value));
      print(ctx.json(), {}, () => `Group ${name}: ${key} set.`);
    });
  group
    .command('sync-get <name>')
    .description("the group's synchronized configuration keys")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const v = await withAdmin(cmd, (a) => a.syncGet(name));
      print(ctx.json(), v, () => table(['Key', 'Value'], Object.entries(v)));
    });

  const job = cluster
    .command('job')
    .description("a group's jobs: run to their end where the group runs; cut off by a failover, marked and (--auto-restart) run again");
  job
    .command('submit <group> <id> [command...]')
    .description('queue COMMAND (after --) as job ID of the group; it runs on the node that runs the group')
    .option('--auto-restart', 'run it again from the start on the next node when a failover cuts it off')
    .action(async (groupName: string, id: string, command: string[], o: { autoRestart?: boolean }, cmd: Command) => {
      const bad = checkName(id);
      if (bad) throw arg(bad);
      if (command.length === 0) throw arg(ARMLOAD_NEEDS_COMMAND());
      const j = await withAdmin(cmd, (a) => a.submitJob(groupName, id, command.map(shellQuote).join(' '), o.autoRestart === true));
      print(ctx.json(), jobJson(j), () => `Job ${id} of group ${groupName}: queued.`);
    });
  job
    .command('list <group>')
    .description("the group's jobs and their runs (a run cut off by a failover shows ***** (0xFFFFFFFF6))")
    .action(async (groupName: string, _o: unknown, cmd: Command) => {
      const js = await withAdmin(cmd, (a) => a.jobs(groupName));
      print(ctx.json(), js.map(jobJson), () =>
        table(
          ['Job', 'State', 'Node', 'Result', 'Runs', 'Auto-restart'],
          js.map((j) => [j.id, j.state, j.runs.at(-1)?.node ?? '---', resultText(j.runs.at(-1)), String(j.runs.length), j.autoRestart ? 'yes' : 'no']),
        ),
      );
    });
  job
    .command('delete <group> <id>')
    .description('forget a finished job')
    .action(async (groupName: string, id: string, _o: unknown, cmd: Command) => {
      await withAdmin(cmd, (a) => a.deleteJob(groupName, id));
      print(ctx.json(), { deleted: id }, () => `Job ${id} deleted.`);
    });

  cluster
    .command('shutdown')
    .description('cluster shutdown: every group stops; `kura cluster start` brings them back (ARMS_EVENT=RECOVER)')
    .action(async (_o: unknown, cmd: Command) => {
      await withAdmin(cmd, (a) => a.clusterState('down'));
      print(ctx.json(), { state: 'down' }, () => 'Cluster shutdown requested.');
    });
  cluster
    .command('start')
    .description('bring the cluster back after a cluster shutdown')
    .action(async (_o: unknown, cmd: Command) => {
      await withAdmin(cmd, (a) => a.clusterState('up'));
      print(ctx.json(), { state: 'up' }, () => 'Cluster start requested.');
    });

  const power = cluster.command('power').description('UPS / power orchestration (NUT upsmon NOTIFYCMD or power-event)');
  power
    .command('config')
    .description('set the UPSs, timeouts and hook commands (the confirmation-time rule is checked here)')
    .option(
      '--ups <spec>',
      'NAME:server:NODE[+NODE...][:CONFIRM_S] or NAME:disk[:CONFIRM_S[:WARMUP_RANK]] (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--timeout <s>', 'cluster-shutdown timeout before the OS shutdown is forced (default 120)', '120')
    .option('--linked <s>', "the linked terminals' confirmation time (default 0)", '0')
    .option('--confirmation <s>', "the control terminal's confirmation time x (default: the least the rule allows)")
    .option('--os-shutdown-cmd <cmd>', 'run for the OS-shutdown order (KURA_POWER_NODES, KURA_POWER_FORCED)')
    .option('--ups-off-cmd <cmd>', 'run for the UPS-off command (KURA_POWER_UPS)')
    .option('--power-on-cmd <cmd>', 'run to power a disk or a node on (KURA_POWER_TARGET disk|node, KURA_POWER_UPS, KURA_POWER_NODES)')
    .option('--ms-per-second <ms>', 'clock scale: milliseconds per second of the timeline (default 1000; tests scale it down)', '1000')
    .action(
      async (
        o: {
          ups: string[];
          timeout: string;
          linked: string;
          confirmation?: string;
          osShutdownCmd?: string;
          upsOffCmd?: string;
          powerOnCmd?: string;
          msPerSecond: string;
        },
        cmd: Command,
      ) => {
        const upses = o.ups.map(parseUps);
        const base = { upses, clusterShutdownTimeout: seconds(o.timeout, '--timeout'), linkedConfirmation: Number(o.linked) || 0 };
        const settings: PowerSettings = {
          ...base,
          controlConfirmation: o.confirmation !== undefined ? seconds(o.confirmation, '--confirmation') : neededConfirmation(base),
          osShutdownCommand: o.osShutdownCmd,
          upsOffCommand: o.upsOffCmd,
          powerOnCommand: o.powerOnCmd,
          msPerSecond: seconds(o.msPerSecond, '--ms-per-second'),
        };
        const bad = validatePowerConfig(settings);
        if (bad) throw arg(bad);
        await withAdmin(cmd, (a) => a.setPower(settings));
        print(
          ctx.json(),
          settings,
          () => `Power configuration set: ${upses.length} UPS(s), confirmation ${settings.controlConfirmation} s (at least ${neededConfirmation(settings)} s).`,
        );
      },
    );
  power
    .command('show')
    .description('the power configuration and the steps the coordinator took')
    .action(async (_o: unknown, cmd: Command) => {
      const v = await withAdmin(cmd, (a) => a.power());
      print(ctx.json(), v, () => JSON.stringify(v, null, 2));
    });
  cluster
    .command('power-event [event]')
    .description("a UPS's power event: ONBATT, ONLINE, LOWBATT, FSD (defaults: upsmon's NOTIFYTYPE and UPSNAME)")
    .option('--ups <name>', 'the UPS (default: UPSNAME without @host)')
    .action(async (event: string | undefined, o: { ups?: string }, cmd: Command) => {
      const type = arg(parsePowerEvent(event ?? process.env['NOTIFYTYPE'] ?? ''));
      const ups = (o.ups ?? process.env['UPSNAME'] ?? '').split('@')[0] ?? '';
      if (!ups) throw arg(POWER_EVENT_NEEDS_UPS());
      await withAdmin(cmd, (a) => a.powerEvent(ups, type));
      print(ctx.json(), { ups, event: type }, () => `${ups}: ${type} recorded.`);
    });

  // The seed's script commands (ARMLOAD, ARMKILL, ARMLOADC, ARMSLEEP, ARMLOG).
  cluster
    .command('armload <id> [command...]')
    .description('start COMMAND (after --) watched under ID; --monitor: its exit shuts the node down; --fov: its exit fails the group over')
    .option('--service', "the target is a service (accepted for the seed's /S)")
    .option('--monitor', "watch it: its exit shuts this node down (the seed's /M)")
    .option('--fov', "watch it: its exit fails the group over (the seed's /FOV)")
    .option('--wait <s>', 'seconds to wait for an early exit, which fails the command (default 0.5)', '0.5')
    .action(async (id: string, command: string[], o: { monitor?: boolean; fov?: boolean; wait: string }) => {
      if (command.length === 0) throw arg(ARMLOAD_NEEDS_COMMAND());
      const wait = Number(o.wait);
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
      const r = (await agentCall('/armload', {
        group: groupOfScript(),
        id,
        command: command.map(shellQuote).join(' '),
        monitor: o.monitor === true,
        fov: o.fov === true,
        wait: Number.isFinite(wait) && wait >= 0 ? wait : 0.5,
        env,
      })) as { pid: number };
      print(ctx.json(), r, () => `${id}: started (pid ${r.pid}).`);
    });
  cluster
    .command('armkill <id>')
    .description('stop a watched process without recovery')
    .action(async (id: string) => {
      await agentCall('/armkill', { group: groupOfScript(), id });
    });
  cluster
    .command('armloadc <id>')
    .description('suspend (--pause) or resume (--resume) the watch of a process')
    .option('--pause', 'its exit is ignored until resumed')
    .option('--resume', 'watch it again')
    .action(async (id: string, o: { pause?: boolean; resume?: boolean }) => {
      await agentCall('/armloadc', { group: groupOfScript(), id, pause: o.pause === true && o.resume !== true });
    });
  cluster
    .command('armsleep <seconds>')
    .description('wait N seconds')
    .action(async (s: string) => {
      await new Promise((r) => setTimeout(r, seconds(s, 'armsleep') * 1000));
    });
  cluster
    .command('armlog <text...>')
    .description("write a line to the node's cluster log")
    .action(async (text: string[]) => {
      await agentCall('/armlog', { group: groupOfScript(), text: text.join(' ') });
    });
}

function parseUps(spec: string): UpsConfig {
  const [name, kind, ...rest] = spec.split(':');
  const bad = () => arg(UPS_SPEC_INVALID({ spec }));
  if (!name || checkName(name)) throw bad();
  if (kind === 'server') {
    const nodes = (rest[0] ?? '').split('+').filter(Boolean);
    if (nodes.length === 0 || nodes.some((n) => checkName(n))) throw bad();
    return { name, kind, nodes, confirmation: rest[1] ? seconds(rest[1], '--ups') : 60, warmupRank: 1 };
  }
  if (kind === 'disk')
    return { name, kind, nodes: [], confirmation: rest[0] ? seconds(rest[0], '--ups') : 30, warmupRank: rest[1] ? seconds(rest[1], '--ups') : 1 };
  throw bad();
}

function jobJson(j: JobRecord): unknown {
  return { group: j.group, id: j.id, command: j.command, autoRestart: j.autoRestart, state: j.state, runs: j.runs };
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
