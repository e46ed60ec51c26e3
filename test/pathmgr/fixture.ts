// Fixtures for the PathManager tests: an in-process array target with two
// portals (controllers 0 and 1, ALUA optimized and non-optimized) whose LUNs
// can be taken away and given back (an LD unmapped on the array), and a TCP
// relay in front of a portal that reads the iSCSI PDU stream and can swallow
// READ commands (a path that logs in and answers TEST UNIT READY but cannot
// move data) or everything (a pulled cable), counting the READs it saw.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { KuraArray } from '../../src/array/array.js';
import { IscsiTargetServer } from '../../src/iscsi/server.js';
import type { PortalConfig } from '../../src/iscsi/types.js';
import { LogicalUnit } from '../../src/scsi/logical-unit.js';
import { ScsiTarget } from '../../src/scsi/target.js';
import type { LunResolver } from '../../src/scsi/target.js';
import type { TargetPortGroupInfo } from '../../src/scsi/types.js';

const MiB = 1 << 20;
export const ARRAY_IQN = 'iqn.2026-11.io.kura:pm-test-array';

export interface PmTarget {
  ports: [number, number];
  server: IscsiTargetServer;
  /** The LUNs the target reports now (an LU missing here is "unmapped"). */
  visible: number[];
  close(): Promise<void>;
}

/** A target with `count` LDs of 16 MiB at LUNs 0..count-1. */
export async function startPmTarget(count = 1): Promise<PmTarget> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-pm-'));
  const array = await KuraArray.open({ dataDir: dir });
  await array.pools.createPool({ name: 'p', size: 128 * MiB });
  const groups: TargetPortGroupInfo[] = [
    { id: 0, state: 'active/optimized', relativeTargetPortIds: [1] },
    { id: 1, state: 'active/non-optimized', relativeTargetPortIds: [2] },
  ];
  const lus: LogicalUnit[] = [];
  for (let i = 0; i < count; i++) {
    await array.lds.createLd({ name: `ld${i}`, pool: 'p', size: 16 * MiB });
    const info = array.lds.getLd(`ld${i}`);
    lus.push(
      new LogicalUnit({
        naa: info.naa,
        serial: info.serial,
        device: array.frontEnd.exports().open(`ld${i}`)!,
        vendor: 'KURA',
        product: 'Kura LD',
        revision: '0.1',
        portGroups: () => groups,
        thin: true,
      }),
    );
  }
  const t: Partial<PmTarget> & { visible: number[] } = { visible: lus.map((_l, i) => i) };
  const resolver: LunResolver = {
    luns: () => [...t.visible].sort((a, b) => a - b),
    lookup: (_n, lun) => (t.visible.includes(lun) ? lus[lun] : undefined),
  };
  const portals: PortalConfig[] = [
    { host: '127.0.0.1', port: 0, controller: 0, portalGroupTag: 1, relativeTargetPortId: 1 },
    { host: '127.0.0.1', port: 0, controller: 1, portalGroupTag: 2, relativeTargetPortId: 2 },
  ];
  const server = new IscsiTargetServer({
    targetName: ARRAY_IQN,
    alias: 'pm test array',
    portals,
    scsi: new ScsiTarget(resolver),
    keepaliveMs: 0,
    log: () => undefined,
  });
  await server.listen();
  const addrs = server.addresses();
  t.ports = [addrs[0]!.port, addrs[1]!.port];
  t.server = server;
  t.close = async () => {
    await server.close();
    await array.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return t as PmTarget;
}

const READ_OPCODES = new Set([0x08, 0x28, 0x88, 0xa8]);

export interface Relay {
  port: number;
  /** READ commands (any READ CDB) the initiator sent through the relay. */
  reads: number;
  /** 'pass': forward everything; 'drop-reads': swallow READ commands; 'blackhole': forward nothing. */
  mode: 'pass' | 'drop-reads' | 'blackhole';
  close(): Promise<void>;
}

/** A relay to 127.0.0.1:targetPort that frames the initiator's PDUs (no digests: pathd offers none). */
export async function relay(targetPort: number): Promise<Relay> {
  const socks = new Set<net.Socket>();
  const r: Partial<Relay> & { reads: number; mode: Relay['mode'] } = { reads: 0, mode: 'pass' };
  const srv = net.createServer((c) => {
    const up = net.connect(targetPort, '127.0.0.1');
    socks.add(c).add(up);
    let buf = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (buf.length < 48) return;
        const ahs = buf[4]! * 4;
        const dsl = buf.readUIntBE(5, 3);
        const len = 48 + ahs + ((dsl + 3) & ~3);
        if (buf.length < len) return;
        const pdu = buf.subarray(0, len);
        buf = buf.subarray(len);
        const isRead = (pdu[0]! & 0x3f) === 0x01 && READ_OPCODES.has(pdu[32]!);
        if (isRead) r.reads++;
        if (r.mode === 'blackhole' || (r.mode === 'drop-reads' && isRead)) continue;
        up.write(pdu);
      }
    });
    up.on('data', (d: Buffer) => {
      if (r.mode !== 'blackhole') c.write(d);
    });
    const end = () => {
      c.destroy();
      up.destroy();
    };
    c.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  r.port = (srv.address() as net.AddressInfo).port;
  r.close = () => {
    for (const s of socks) s.destroy();
    return new Promise((res) => srv.close(() => res()));
  };
  return r as Relay;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until cond() holds or the time is up (generous bounds only); returns whether it held. */
export async function until(cond: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(25);
  }
  return cond();
}
