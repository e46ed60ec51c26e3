// kura array --data DIR --agent HOST:PORT --nbd HOST:PORT --iscsi HOST:PORT,HOST:PORT:
// one disk array (engine, controllers, NBD and iSCSI front ends) with its array
// agent API for the managers (src/array/agent-http/). It keeps its configuration
// itself; its agent token is DATA/agent.token (mode 0600, made at the first start).
// Also kura array register|list, through any manager (kura manager --etcd).
//
// Output contract: a line "listening agent=URL nbd=HOST:PORT iscsi=HOST:PORT,HOST:PORT",
// then "ready" once every listener accepts connections. SIGINT/SIGTERM stop it.
import path from 'node:path';
import type { Command } from 'commander';
import { HA } from '../api/ha.js';
import type { HaArrayView } from '../api/ha.js';
import { KuraArray } from '../array/array.js';
import { FencingRegister } from '../array/agent-http/fencing.js';
import { AgentServer, DEFAULT_AGENT_IDLE_TIMEOUT_MS, DEFAULT_AGENT_MAX_CONNECTIONS } from '../array/agent-http/server.js';
import type { AgentLimits } from '../array/agent-http/server.js';
import { ensureAgentToken, readAgentToken } from '../array/agent-http/token.js';
import { IscsiFrontEnd } from '../array/iscsi-front-end.js';
import { makeDataDir } from '../block/data-dir.js';
import { NbdServer } from '../nbd/server.js';
import { NBD_TLS_MODES } from '../nbd/tls.js';
import type { NbdTlsMode } from '../nbd/tls.js';
import { DATA_DIR_CREATE_FAILED, ISCSI_NEEDS_TWO_PORTS, LISTEN_FAILED } from '../catalogue/cli.js';
import { NBD_TLS_MODE_UNKNOWN } from '../catalogue/protocols.js';
import { AGENT_TOKEN_FILE } from '../catalogue/ha.js';
import type { CliContext } from './context.js';
import { print, table } from './format.js';
import { formatHostPort } from './serve.js';
import { count, seconds } from './serve-limits.js';
import { argError, hostPortArg } from './units.js';

type HostPort = { host: string; port: number };

export function registerArrayService(array: Command, ctx: CliContext): void {
  array
    .option('--data <dir>', 'run the array: its data directory')
    .option('--agent <host:port>', 'run the array: the array agent API listener for the managers (port 0: any free port)')
    .option('--nbd <host:port|off>', 'run the array: NBD listener', '127.0.0.1:10809')
    .option('--nbd-tls <mode>', 'run the array: NBD TLS-PSK off, allowed or required', 'allowed')
    .option('--iscsi <host:port,host:port>', 'run the array: iSCSI host ports of controllers 0 and 1', '127.0.0.1:3260,127.0.0.1:3261')
    .option('--agent-max-connections <n>', `run the array: agent connections open at once (default ${DEFAULT_AGENT_MAX_CONNECTIONS})`)
    .option(
      '--agent-idle-timeout <seconds>',
      `run the array: close a new agent connection that has not sent its request within this time (default ${DEFAULT_AGENT_IDLE_TIMEOUT_MS / 1000})`,
    )
    .action(
      async (o: { data?: string; agent?: string; nbd: string; nbdTls: string; iscsi: string; agentMaxConnections?: string; agentIdleTimeout?: string }) => {
        // "kura array" alone is a noun without a verb: its help, as for every noun.
        if (o.agent === undefined) array.help({ error: true });
        if (!(NBD_TLS_MODES as readonly string[]).includes(o.nbdTls)) throw argError(NBD_TLS_MODE_UNKNOWN, { nbdTls: o.nbdTls });
        const portals = o.iscsi.split(',').map((p) => hostPortArg(p, '--iscsi'));
        if (portals.length !== 2) throw argError(ISCSI_NEEDS_TWO_PORTS, { length: portals.length });
        await runArray({
          dataDir: o.data ?? './kura-array',
          agent: hostPortArg(o.agent!, '--agent'),
          nbd: o.nbd.trim() === 'off' ? null : hostPortArg(o.nbd, '--nbd'),
          nbdTls: o.nbdTls as NbdTlsMode,
          portals,
          agentLimits: {
            maxConnections: count(o.agentMaxConnections, '--agent-max-connections', DEFAULT_AGENT_MAX_CONNECTIONS),
            idleTimeoutMs: seconds(o.agentIdleTimeout, '--agent-idle-timeout', DEFAULT_AGENT_IDLE_TIMEOUT_MS),
          },
        });
      },
    );

  array
    .command('register <agent-url>')
    .description('register an array (its agent URL, e.g. http://127.0.0.1:9950) with the managers (kura manager --etcd)')
    .requiredOption('--token-file <file>', "the array's agent token (its DATA/agent.token)")
    .action(async (url: string, o: { tokenFile: string }) => {
      let token: string;
      try {
        token = readAgentToken(o.tokenFile);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw AGENT_TOKEN_FILE({ file: o.tokenFile, reason: 'no such file' });
        throw e;
      }
      const a = await ctx.client().send<HaArrayView>(HA.register, {}, { url, token });
      print(ctx.json(), a, () => `Array ${a.id} (${a.name}) registered; active manager: ${a.active ?? '-'}, standby: ${a.standby ?? '-'}.`);
    });

  array
    .command('list')
    .description('registered arrays with their active and standby manager')
    .action(async () => {
      const list = await ctx.client().send<HaArrayView[]>(HA.arrays);
      print(ctx.json(), list, () =>
        table(
          ['Array', 'Name', 'Agent', 'Active', 'Standby'],
          list.map((a) => [a.id, a.name, a.url, a.active ?? '-', a.standby ? `${a.standby}${a.standbyConfirmed ? '' : ' (joining)'}` : '-']),
        ),
      );
    });
}

export interface ArrayServiceOptions {
  dataDir: string;
  agent: HostPort;
  nbd: HostPort | null;
  nbdTls: NbdTlsMode;
  portals: HostPort[];
  agentLimits?: AgentLimits;
}

export async function runArray(o: ArrayServiceOptions): Promise<void> {
  const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);
  process.umask(0o077);
  try {
    makeDataDir(o.dataDir);
  } catch (e) {
    throw DATA_DIR_CREATE_FAILED({ dataDir: o.dataDir, reason: (e as Error).message });
  }
  const array = await KuraArray.open({ dataDir: o.dataDir, portals: o.portals, log });
  const { token, file, created } = ensureAgentToken(o.dataDir);
  const agent = new AgentServer(array, token, new FencingRegister(o.dataDir), log);
  let nbdServer: NbdServer | undefined;
  let iscsi: IscsiFrontEnd | undefined;
  let phase = `the agent listener ${formatHostPort(o.agent)} (--agent)`;
  try {
    await agent.listen(o.agent.host, o.agent.port, o.agentLimits);
    if (o.nbd) {
      phase = `the NBD listener ${formatHostPort(o.nbd)} (--nbd)`;
      const n = new NbdServer({ exports: array.frontEnd.nbdExports(), tls: { mode: o.nbdTls, psk: (id) => array.frontEnd.nbdPsk(id) }, log });
      nbdServer = n;
      array.frontEnd.onAccessChanged(() => n.revalidate());
      array.frontEnd.registerSessionSource(() =>
        n.openDevices().map((d) => ({ device: d.device, holder: `NBD client ${d.peer}${d.identity ? ` (host ${d.identity})` : ''}` })),
      );
      await n.listen(o.nbd.host, o.nbd.port);
    }
    phase = `the iSCSI portals ${o.portals.map(formatHostPort).join(', ')} (--iscsi)`;
    iscsi = new IscsiFrontEnd(array.frontEnd, { log });
    await iscsi.listen();
  } catch (e) {
    await iscsi?.close().catch(() => undefined);
    await nbdServer?.close().catch(() => undefined);
    await agent.close().catch(() => undefined);
    await array.close().catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    throw LISTEN_FAILED({ phase, reason: err.message });
  }
  const id = agent.identity();
  const agentUrl = `http://${formatHostPort(agent.address())}`;
  const nbdHp = nbdServer ? formatHostPort(nbdServer.address()) : 'off';
  const portals = array.frontEnd.hostPorts().map((p) => formatHostPort(p));
  process.stdout.write(
    [
      `Kura ${id.version}: array ${id.name} (id ${id.id}), data in ${path.resolve(o.dataDir)}${array.isNew ? ' (new)' : ''}`,
      `  agent:    ${agentUrl}    token ${file}${created ? ' (new, mode 0600)' : ''}`,
      `  register: kura array register ${agentUrl} --token-file ${file}    (through any manager)`,
      `  iSCSI:    target ${array.frontEnd.targetName()}, controller 00 on ${portals[0]}, controller 01 on ${portals[1]}`,
      `  NBD:      ${nbdHp}`,
      `listening agent=${agentUrl} nbd=${nbdHp} iscsi=${portals.join(',')}`,
      'ready',
    ].join('\n') + '\n',
  );
  log(`ready: agent ${agentUrl}, NBD ${nbdHp}, iSCSI ${portals.join(', ')}`);
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log(`${sig}: stopping`);
    let code = 0;
    for (const close of [() => iscsi!.close(), () => nbdServer?.close() ?? Promise.resolve(), () => agent.close(), () => array.close()]) {
      try {
        await close();
      } catch (e) {
        code = 1;
        log(`closing failed: ${(e as Error)?.stack ?? e}`);
      }
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
