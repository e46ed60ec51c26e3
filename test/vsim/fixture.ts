// A world for kura vsim tests: a real `kura serve` with the VVOL licences, an
// SSV, two storage containers (sc0 with a PE, sc1) and a real `kura pathd`
// logged in to both controllers' portals with a patrol of 1 s (it looks
// behind the PEs each round), plus the CLI with the simulator's host list in a
// temporary file (KURA_VSIM_STATE). The array is set up over REST: each CLI
// run costs a node start (seconds on the shared CI machine), and the setup is
// not what these tests check.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LDS } from '../../src/api/lds.js';
import { LICENSES } from '../../src/api/licenses.js';
import { POOLS } from '../../src/api/pools.js';
import { PES } from '../../src/api/vasa.js';
import { ApiClient } from '../../src/cli/client.js';
import { kuraCli, type KuraCli } from '../helpers/cli.js';
import { startPathd, type TestPathd } from '../helpers/pathd.js';
import { startServer, type TestServer } from '../helpers/server.js';

export interface VsimWorld {
  srv: TestServer;
  pathd: TestPathd;
  /** The kura CLI against srv, with KURA_VSIM_STATE set. */
  cli: KuraCli;
  /** A REST client of srv (what the CLI and the simulator use), for steps a test does not check through the CLI. */
  api: ApiClient;
  env: NodeJS.ProcessEnv;
  dir: string;
  stop(): Promise<void>;
}

export const LICENCES = ['VirtualVolume', 'DynamicSnapVolume', 'VolumeClone', 'DynamicDataReplication', 'IOLoadManager'];

const GiB = 2 ** 30;

export async function startVsimWorld(o: { containerSize?: number; initiator?: string } = {}): Promise<VsimWorld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-vsim-'));
  const srv = await startServer({ args: ['--no-demo'] });
  const api = new ApiClient({ url: srv.url, token: srv.token, owner: 'vsim-test' });
  let pathd: TestPathd | undefined;
  try {
    for (const l of LICENCES) await api.send(LICENSES.unlock, { name: l });
    await api.send(POOLS.create, {}, { name: 'sys', size: 5 * GiB, raid: 'RAID0', pds: 1 });
    await api.send(LDS.create, {}, { name: 'ssv', pool: 'sys', attr: 'ssv' });
    for (const sc of ['sc0', 'sc1']) await api.send(POOLS.create, {}, { name: sc, size: o.containerSize ?? 4 * GiB, container: true });
    await api.send(PES.create, {}, { name: 'pe0', pool: 'sc0' });
    pathd = await startPathd([
      ...srv.iscsiPorts.flatMap((p) => ['--portal', `127.0.0.1:${p}`]),
      '--nbd',
      '127.0.0.1:0',
      '--control',
      '127.0.0.1:0',
      '--patrol-interval',
      '1',
      '--data',
      path.join(dir, 'pathd'),
      '--initiator',
      o.initiator ?? 'iqn.2026-11.test:vsim-esx1',
      '--no-syslog',
    ]);
  } catch (e) {
    await srv.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const env = { ...srv.env, KURA_VSIM_STATE: path.join(dir, 'vsim-hosts.json') };
  const p = pathd;
  return {
    srv,
    pathd: p,
    cli: kuraCli({ env, cwd: srv.dataDir, timeoutMs: 180_000 }),
    api,
    env,
    dir,
    stop: async () => {
      await p.stop();
      await srv.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
