// kura serve: the embedded array, its manager, and the NBD front end in one
// process. A first start on an empty data dir creates the demo pool and LD.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { KuraArray } from '../array/array.js';
import { KuraError } from '../errors.js';
import { Manager, ensureToken } from '../manager/manager.js';
import { NbdServer } from '../nbd/server.js';
import { CliArgError } from './pool.js';

const GiB = 2 ** 30;

export function parseHostPort(s: string, what: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new CliArgError(`${what} "${s}" is not HOST:PORT.`, `Give ${what} as HOST:PORT, e.g. 127.0.0.1:9940.`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the embedded array with its manager, API and NBD front end')
    .option('--data <dir>', 'data directory', './kura-data')
    .option('--http <host:port>', 'API, console and metrics listener', '127.0.0.1:9940')
    .option('--nbd <host:port>', 'NBD listener', '127.0.0.1:10809')
    .option('--iscsi <host:port,host:port>', 'iSCSI host ports of controllers 0 and 1', '127.0.0.1:3260,127.0.0.1:3261')
    .option('--no-demo', 'do not create the demo pool and LD on first start')
    .action(async (o: { data: string; http: string; nbd: string; iscsi: string; demo: boolean }) => {
      const http = parseHostPort(o.http, '--http');
      const nbd = parseHostPort(o.nbd, '--nbd');
      const portals = o.iscsi.split(',').map((p) => parseHostPort(p, '--iscsi'));
      if (portals.length !== 2) throw new CliArgError(`--iscsi needs two host ports (one per controller), got ${portals.length}.`, 'Give --iscsi HOST:PORT0,HOST:PORT1.');
      await serve({ dataDir: o.data, http, nbd, portals, demo: o.demo });
    });
}

export interface ServeOptions {
  dataDir: string;
  http: { host: string; port: number };
  nbd: { host: string; port: number };
  portals: Array<{ host: string; port: number }>;
  demo: boolean;
}

export async function serve(o: ServeOptions): Promise<void> {
  fs.mkdirSync(o.dataDir, { recursive: true });
  const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);
  const array = await KuraArray.open({ dataDir: o.dataDir, portals: o.portals });
  const { created } = ensureToken(o.dataDir);
  const manager = new Manager({ dataDir: o.dataDir, agent: array, log });
  if (array.isNew && o.demo) {
    const p = await array.createPool({ name: 'pool0', size: 4 * GiB, raid: 'RAID1', pds: 2 });
    manager.events.record({ id: 'KURA-I4001', severity: 'info', source: `pool/${p.name}`, text: `Demo pool ${p.name} created (${p.raid}, ${p.capacity} bytes).` });
    const l = await array.createLd({ name: 'demo0', pool: 'pool0', size: GiB });
    manager.events.record({ id: 'KURA-I4010', severity: 'info', source: `ld/${l.name}`, text: `Demo LD ${l.name} created in pool ${l.pool} (${l.capacity} bytes).` });
  }
  const nbdServer = new NbdServer({ exports: array.exports(), log });
  try {
    await manager.listen(o.http.host, o.http.port);
    await nbdServer.listen(o.nbd.host, o.nbd.port);
  } catch (e) {
    await array.close();
    const err = e as NodeJS.ErrnoException;
    throw new KuraError('KURA-E5020', 'EBUSY', `Cannot listen: ${err.message}.`, 'Stop whatever uses that address or choose another with --http / --nbd.');
  }
  const api = manager.address();
  const nbdAddr = nbdServer.address();
  manager.events.record({ id: 'KURA-I4000', severity: 'info', source: 'array', text: `Array ${array.info().name} started (data ${path.resolve(o.dataDir)}).` });

  const url = `http://${api.host}:${api.port}`;
  const lds = array.listLds();
  const lines = [
    `Kura ${array.info().version}: array ${array.info().name}, data in ${path.resolve(o.dataDir)}`,
    `  API and console: ${url}/  (OpenAPI at ${url}/api/v1/openapi.json)`,
    `  token:           ${path.join(o.dataDir, 'admin.token')}${created ? ' (new)' : ''}`,
    `  CLI:             KURA_URL=${url} KURA_TOKEN=$(cat ${path.join(o.dataDir, 'admin.token')}) kura ld list`,
    `  NBD:             nbd://${nbdAddr.host}:${nbdAddr.port}/<ld>${lds.length ? `   e.g. nbdinfo nbd://${nbdAddr.host}:${nbdAddr.port}/${lds[0]!.name}` : ''}`,
    `  iSCSI:           not available in this build (planned host ports ${o.portals.map((p) => `${p.host}:${p.port}`).join(', ')})`,
    `ready`,
  ];
  process.stdout.write(lines.join('\n') + '\n');

  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping`);
    await nbdServer.close();
    await manager.close();
    await array.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
