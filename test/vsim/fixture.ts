// A world for kura vsim tests: a real `kura serve` with the VVOL licences, an
// SSV, two storage containers (sc0 with a PE, sc1) and a real `kura pathd`
// logged in to both controllers' portals with a patrol of 1 s (it looks
// behind the PEs each round), plus the CLI with the simulator's host list in a
// temporary file (KURA_VSIM_STATE).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kuraCli, type KuraCli } from '../helpers/cli.js';
import { startPathd, type TestPathd } from '../helpers/pathd.js';
import { startServer, type TestServer } from '../helpers/server.js';

export interface VsimWorld {
  srv: TestServer;
  pathd: TestPathd;
  /** The kura CLI against srv, with KURA_VSIM_STATE set. */
  cli: KuraCli;
  env: NodeJS.ProcessEnv;
  dir: string;
  stop(): Promise<void>;
}

export const LICENCES = ['VirtualVolume', 'DynamicSnapVolume', 'VolumeClone', 'DynamicDataReplication', 'IOLoadManager'];

export async function startVsimWorld(o: { containerSize?: string; initiator?: string } = {}): Promise<VsimWorld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-vsim-'));
  const srv = await startServer({ args: ['--no-demo'] });
  let pathd: TestPathd | undefined;
  try {
    for (const l of LICENCES) srv.cli.json('license', 'unlock', l);
    srv.cli.json('pool', 'create', 'sys', '--size', '5GiB', '--raid', '0', '--pds', '1');
    srv.cli.json('ld', 'create', 'ssv', '--pool', 'sys', '--attr', 'ssv');
    srv.cli.json('pool', 'create', 'sc0', '--size', o.containerSize ?? '4GiB', '--container');
    srv.cli.json('pool', 'create', 'sc1', '--size', o.containerSize ?? '4GiB', '--container');
    srv.cli.json('pe', 'create', 'pe0', '--pool', 'sc0');
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
    env,
    dir,
    stop: async () => {
      await p.stop();
      await srv.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
