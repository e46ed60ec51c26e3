// Shared fixtures for the iSCSI tests: a real array with a 64 MiB thin LD,
// the SCSI layer's LogicalUnit and ScsiTarget over it (LUN 0), and an
// IscsiTargetServer with two portals on 127.0.0.1 (controllers 0 and 1) on
// ports the OS picks. The real client tools are run through run()/ok(); a
// missing tool fails with the Debian package to install.
import { spawn, spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KuraArray } from '../../src/array/array.js';
import type { ChapConfig } from '../../src/iscsi/chap.js';
import type { TargetOffers } from '../../src/iscsi/params.js';
import type { IoBudget } from '../../src/limits/io-budget.js';
import { IscsiTargetServer } from '../../src/iscsi/server.js';
import type { PortalConfig } from '../../src/iscsi/types.js';
import { LogicalUnit } from '../../src/scsi/logical-unit.js';
import { ScsiTarget } from '../../src/scsi/target.js';
import type { LunResolver } from '../../src/scsi/target.js';
import { parseSense } from '../../src/scsi/spec/index.js';
import type { SenseCode } from '../../src/scsi/spec/index.js';
import type { LogicalUnitSource, TargetPortGroupInfo } from '../../src/scsi/types.js';

export const MiB = 1 << 20;

/** Sense key, ASC and ASCQ of sense data, to compare with a named condition (LBA_OUT_OF_RANGE...). */
export function senseCodeOf(sense: Buffer | undefined): SenseCode | undefined {
  const s = parseSense(sense);
  return s && { key: s.key, asc: s.asc, ascq: s.ascq };
}

/** Test data that differs with every 4 bytes and with the seed. */
export function pattern(bytes: number, seed: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4) b.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ seed) >>> 0, i);
  return b;
}
export const IQN = 'iqn.2026-11.io.kura:test-array';
export const INITIATOR = 'iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test';
export const INITIATOR2 = 'iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test-2';

export interface TargetFixture {
  array: KuraArray;
  dir: string;
  server: IscsiTargetServer;
  target: ScsiTarget;
  /** Ports of controller 0 and controller 1. */
  ports: [number, number];
  url(lun?: number, opts?: { port?: number; user?: string; password?: string; query?: string }): string;
  logs: string[];
  close(): Promise<void>;
}

export interface TargetFixtureOptions {
  chap?: ChapConfig;
  ldSize?: number;
  poolSize?: number;
  offers?: Partial<TargetOffers>;
  keepaliveMs?: number;
  loginTimeoutMs?: number;
  /** The I/O buffer budget the target takes write buffers and Data-In from. */
  ioBudget?: IoBudget;
}

export async function startTarget(opts: TargetFixtureOptions = {}): Promise<TargetFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-iscsi-'));
  const array = await KuraArray.open({ dataDir: dir });
  await array.pools.createPool({ name: 'p', size: opts.poolSize ?? 256 * MiB });
  await array.lds.createLd({ name: 'ld', pool: 'p', size: opts.ldSize ?? 64 * MiB });
  const dev = array.frontEnd.exports().open('ld')!;
  const info = array.lds.getLd('ld');
  const groups: TargetPortGroupInfo[] = [
    { id: 0, state: 'active/optimized', relativeTargetPortIds: [1] },
    { id: 1, state: 'active/non-optimized', relativeTargetPortIds: [2] },
  ];
  const source: LogicalUnitSource = {
    naa: info.naa,
    serial: info.serial,
    device: dev,
    vendor: 'KURA',
    product: 'Kura LD',
    revision: '0.1',
    portGroups: () => groups,
    thin: true,
  };
  const lu = new LogicalUnit(source);
  const resolver: LunResolver = {
    luns: () => [0],
    lookup: (_n, lun) => (lun === 0 ? lu : undefined),
  };
  const target = new ScsiTarget(resolver);
  const portals: PortalConfig[] = [
    { host: '127.0.0.1', port: 0, controller: 0, portalGroupTag: 1, relativeTargetPortId: 1 },
    { host: '127.0.0.1', port: 0, controller: 1, portalGroupTag: 2, relativeTargetPortId: 2 },
  ];
  const logs: string[] = [];
  const server = new IscsiTargetServer({
    targetName: IQN,
    alias: 'kura test array',
    portals,
    scsi: target,
    chap: opts.chap,
    offers: opts.offers,
    keepaliveMs: opts.keepaliveMs ?? 0,
    loginTimeoutMs: opts.loginTimeoutMs,
    ioBudget: opts.ioBudget,
    log: (m) => {
      logs.push(m);
      if (process.env.KURA_ISCSI_LOG) process.stderr.write(`${m}\n`);
    },
  });
  await server.listen();
  const addrs = server.addresses();
  const ports: [number, number] = [addrs[0]!.port, addrs[1]!.port];
  return {
    array,
    dir,
    server,
    target,
    ports,
    logs,
    url(lun = 0, o = {}) {
      const cred = o.user !== undefined ? `${o.user}%${o.password ?? ''}@` : '';
      return `iscsi://${cred}127.0.0.1:${o.port ?? ports[0]}/${IQN}/${lun}${o.query ? `?${o.query}` : ''}`;
    },
    async close() {
      await server.close();
      await array.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const PACKAGES: Record<string, string> = {
  'iscsi-ls': 'libiscsi-bin',
  'iscsi-inq': 'libiscsi-bin',
  'iscsi-readcapacity16': 'libiscsi-bin',
  'iscsi-test-cu': 'libiscsi-bin',
  'iscsi-swp': 'libiscsi-bin',
  'qemu-img': 'qemu-utils (and qemu-block-extra for its iscsi driver)',
};

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function missing(cmd: string, r: SpawnSyncReturns<string> | { error?: Error }): void {
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`${cmd} is not installed: install the Debian package ${PACKAGES[cmd] ?? '(unknown)'} (npm test runs scripts/ensure-tools.sh, which does)`);
  }
}

/**
 * Runs a client tool without blocking the event loop (the target runs in this
 * process and must keep answering while the tool talks to it).
 */
export function run(cmd: string, args: string[], opts: { timeout?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      try {
        missing(cmd, { error: e });
      } catch (m) {
        reject(m);
        return;
      }
      reject(e);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

export async function ok(cmd: string, args: string[], opts: { timeout?: number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Whether a binary exists (for the qemu iscsi block driver, which has none of its own). */
export function qemuIscsiDriverPresent(): boolean {
  if (fs.existsSync('/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so')) return true;
  const r = spawnSync('dpkg', ['-s', 'qemu-block-extra'], { encoding: 'utf8' });
  return r.status === 0;
}
