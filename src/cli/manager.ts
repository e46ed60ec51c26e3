// kura manager --etcd URLS --data DIR --http HOST:PORT --name NAME: one management
// service of a redundant deployment (src/manager/ha/). Per registered array one
// manager is active, one standby, the others spares; roles live in etcd.
// The API token: the first manager's DATA/admin.token (or --token-file) is put in
// etcd and every later manager writes it to its own DATA/admin.token.
// Output contract: "listening api=URL", then "ready". Also kura manager list.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { HA } from '../api/ha.js';
import { API_PREFIX } from '../api/route.js';
import type { HaManagerView } from '../api/ha.js';
import { makeDataDir } from '../block/data-dir.js';
import { DEFAULT_HTTP_IDLE_TIMEOUT_MS, DEFAULT_HTTP_MAX_CONNECTIONS, ensureToken } from '../manager/manager.js';
import type { HttpLimits } from '../manager/manager.js';
import { HaFront } from '../manager/ha/front.js';
import { DEFAULT_LEASE_TTL, HaNode } from '../manager/ha/node.js';
import { DATA_DIR_CREATE_FAILED, LISTEN_FAILED } from '../catalogue/cli.js';
import { ETCD_UNREACHABLE, MANAGER_OPTIONS } from '../catalogue/ha.js';
import type { CliContext } from './context.js';
import { print, table } from './format.js';
import { formatHostPort } from './serve.js';
import { count, seconds } from './serve-limits.js';
import { hostPortArg } from './units.js';

export function registerManager(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('manager')
    .description('run one redundant management service on etcd (kura manager --etcd ...), or list the managers')
    .option('--etcd <urls>', 'etcd client URLs, comma separated (http://127.0.0.1:2379,...)')
    .option('--data <dir>', 'data directory of this manager', './kura-manager')
    .option('--http <host:port>', 'API listener (port 0: any free port)', '127.0.0.1:9940')
    .option('--name <name>', "this manager's name, unique in the deployment")
    .option('--lease-ttl <seconds>', 'etcd lease TTL: a failed active is replaced after about this long', String(DEFAULT_LEASE_TTL))
    .option('--token-file <file>', "the API token to bring (default DATA/admin.token); the first manager's token is everybody's")
    .option('--http-max-connections <n>', `API connections open at once (default ${DEFAULT_HTTP_MAX_CONNECTIONS})`)
    .option(
      '--http-idle-timeout <seconds>',
      `close a new API connection that has not sent its request within this time (default ${DEFAULT_HTTP_IDLE_TIMEOUT_MS / 1000})`,
    )
    .action(async (o: ManagerFlags) => {
      if (o.etcd === undefined) cmd.help({ error: true });
      if (!o.name || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(o.name)) throw MANAGER_OPTIONS({ problem: 'give --name NAME (letters, digits, _ . -)' });
      const ttl = Number(o.leaseTtl);
      if (!Number.isInteger(ttl) || ttl < 2 || ttl > 600)
        throw MANAGER_OPTIONS({ problem: `--lease-ttl ${o.leaseTtl} is not a whole number of seconds from 2 to 600` });
      await runManager({
        etcd: o
          .etcd!.split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        dataDir: o.data,
        http: hostPortArg(o.http, '--http'),
        name: o.name,
        ttl,
        tokenFile: o.tokenFile,
        limits: {
          maxConnections: count(o.httpMaxConnections, '--http-max-connections', DEFAULT_HTTP_MAX_CONNECTIONS),
          idleTimeoutMs: seconds(o.httpIdleTimeout, '--http-idle-timeout', DEFAULT_HTTP_IDLE_TIMEOUT_MS),
        },
      });
    });

  cmd
    .command('list')
    .description('managers, their roles per array and their lease time left')
    .action(async () => {
      const list = await ctx.client().send<HaManagerView[]>(HA.managers);
      print(ctx.json(), list, () =>
        table(
          ['Manager', 'State', 'API', 'Lease left', 'Roles'],
          list.map((m) => [
            m.name,
            m.state,
            m.url,
            m.leaseSecondsLeft === null ? '-' : `${m.leaseSecondsLeft} s`,
            m.arrays.map((a) => `${a.role} ${a.id}`).join(', ') || 'spare',
          ]),
        ),
      );
    });
}

interface ManagerFlags {
  etcd?: string;
  data: string;
  http: string;
  name?: string;
  leaseTtl: string;
  tokenFile?: string;
  httpMaxConnections?: string;
  httpIdleTimeout?: string;
}

interface ManagerRunOptions {
  etcd: string[];
  dataDir: string;
  http: { host: string; port: number };
  name: string;
  ttl: number;
  tokenFile?: string;
  limits: HttpLimits;
}

async function runManager(o: ManagerRunOptions): Promise<void> {
  const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${o.name}: ${m}\n`);
  process.umask(0o077);
  try {
    makeDataDir(o.dataDir);
  } catch (e) {
    throw DATA_DIR_CREATE_FAILED({ dataDir: o.dataDir, reason: (e as Error).message });
  }
  const tokenPath = path.join(o.dataDir, 'admin.token');
  const own = o.tokenFile ? fs.readFileSync(o.tokenFile, 'utf8').trim() : ensureToken(o.dataDir).token;
  const node = new HaNode({ name: o.name, dataDir: o.dataDir, etcd: o.etcd, ttlSeconds: o.ttl, adminToken: own, log });
  const front = new HaFront(node, log);
  try {
    await front.listen(o.http.host, o.http.port, o.limits);
  } catch (e) {
    throw LISTEN_FAILED({ phase: `the API listener ${formatHostPort(o.http)} (--http)`, reason: (e as Error).message });
  }
  const url = `http://${formatHostPort(front.address())}`;
  try {
    await node.start(url);
  } catch (e) {
    await front.close();
    await node.close().catch(() => undefined);
    throw ETCD_UNREACHABLE({ endpoints: o.etcd.join(','), reason: (e as Error).message });
  }
  if (node.adminToken !== own || !fs.existsSync(tokenPath)) {
    fs.writeFileSync(tokenPath, node.adminToken + '\n', { mode: 0o600 });
    fs.chmodSync(tokenPath, 0o600);
    if (node.adminToken !== own) log(`the deployment's API token (from etcd) replaces ${tokenPath}`);
  }
  process.stdout.write(
    [
      `Kura manager ${o.name}: etcd ${o.etcd.join(',')}, data in ${path.resolve(o.dataDir)}, lease TTL ${o.ttl} s`,
      `  API:      ${url}${API_PREFIX}    (any manager answers; --array ID picks the array)`,
      `  token:    ${tokenPath}    (the same for every manager of the deployment)`,
      `  CLI:      KURA_URL=${url} KURA_TOKEN=$(cat ${tokenPath}) kura array list`,
      `listening api=${url}`,
      'ready',
    ].join('\n') + '\n',
  );
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log(`${sig}: stopping (handing every role on)`);
    await front.close().catch(() => undefined);
    await node.close().catch((e: Error) => log(`closing: ${e.message}`));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
