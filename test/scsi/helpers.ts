// Shared fixtures for the SCSI tests: a real array with a thin LD behind a
// LogicalUnit and a ScsiTarget, two I_T nexuses, CDB builders and sense checks.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import type { UnmapRange, WriteOptions } from '../../src/block/device.js';
import { LayerDevice } from '../../src/block/layer-device.js';
import { LogicalUnit } from '../../src/scsi/logical-unit.js';
import { parseSense } from '../../src/scsi/sense.js';
import { ScsiTarget } from '../../src/scsi/target.js';
import type { LunResolver } from '../../src/scsi/target.js';
import type { ItNexus, LogicalUnitSource, PrStore, ScsiCommand, ScsiResponse, TargetPortGroupInfo } from '../../src/scsi/types.js';

export const MiB = 1 << 20;
export const BS = 512;

export const NEXUS_A: ItNexus = {
  initiatorPort: 'iqn.1994-05.com.redhat:host-a,i,0x23d000000001',
  initiatorName: 'iqn.1994-05.com.redhat:host-a',
  relativeTargetPortId: 1,
  targetPort: 'iqn.2026-11.io.kura:array1,t,0x0001',
  targetPortGroup: 0,
};
export const NEXUS_B: ItNexus = {
  initiatorPort: 'iqn.1994-05.com.redhat:host-b,i,0x23d000000002',
  initiatorName: 'iqn.1994-05.com.redhat:host-b',
  relativeTargetPortId: 2,
  targetPort: 'iqn.2026-11.io.kura:array1,t,0x0002',
  targetPortGroup: 1,
};

/** Records what the SCSI layer asks of the device, and can be made read-only or failing. */
export class SpyDevice extends LayerDevice {
  writes: Array<{ lba: number; blocks: number; fua: boolean }> = [];
  flushes = 0;
  unmaps: UnmapRange[][] = [];
  readOnlyOverride = false;
  failWith: Error | undefined;

  override get readOnly(): boolean {
    return this.readOnlyOverride || super.readOnly;
  }
  private fail(): void {
    if (this.failWith) throw this.failWith;
  }
  override async read(lba: number, blocks: number): Promise<Buffer> {
    this.fail();
    return super.read(lba, blocks);
  }
  override async write(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    this.fail();
    this.writes.push({ lba, blocks: buf.length / this.blockSize, fua: opts?.fua === true });
    return super.write(lba, buf, opts);
  }
  protected override atomicWrite(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    this.writes.push({ lba, blocks: buf.length / this.blockSize, fua: opts?.fua === true });
    return super.atomicWrite(lba, buf, opts);
  }
  override async flush(): Promise<void> {
    this.fail();
    this.flushes++;
    return super.flush();
  }
  override async unmap(ranges: UnmapRange[]): Promise<void> {
    this.fail();
    this.unmaps.push(ranges);
    return super.unmap(ranges);
  }
  override async writeZeroes(lba: number, blocks: number, opts?: WriteOptions & { noHole?: boolean }): Promise<void> {
    this.fail();
    return super.writeZeroes(lba, blocks, opts);
  }
  override async allocation(lba: number, blocks: number) {
    this.fail();
    return super.allocation(lba, blocks);
  }
}

export class MemoryPrStore implements PrStore {
  readonly saved = new Map<string, unknown>();
  saves = 0;
  load(luId: string): unknown {
    const v = this.saved.get(luId);
    return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
  }
  save(luId: string, state: unknown): void {
    this.saves++;
    this.saved.set(luId, JSON.parse(JSON.stringify(state)));
  }
}

export interface Fixture {
  array: KuraArray;
  dir: string;
  dev: SpyDevice;
  source: LogicalUnitSource;
  lu: LogicalUnit;
  target: ScsiTarget;
  /** LUN → LU as the resolver serves it (every nexus sees the same map). */
  luns: Map<number, LogicalUnit>;
  groups: TargetPortGroupInfo[];
  /** Runs a CDB through ScsiTarget.execute. */
  exec(cdb: Buffer | number[], opts?: { nexus?: ItNexus; lun?: number; dataOut?: Buffer; expected?: number }): Promise<ScsiResponse>;
  /** Pool space in use, in bytes. */
  poolUsed(): number;
}

export interface FixtureOptions {
  poolSize?: number;
  ldSize?: number;
  prStore?: PrStore;
  thin?: boolean;
  /** Do not clear the power-on unit attentions of NEXUS_A and NEXUS_B. */
  keepUnitAttentions?: boolean;
}

export async function fixture(t: TestContext, opts: FixtureOptions = {}): Promise<Fixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-scsi-'));
  const array = await KuraArray.open({ dataDir: dir });
  t.after(async () => {
    await array.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await array.createPool({ name: 'p', size: opts.poolSize ?? 64 * MiB, raid: 'RAID1' });
  await array.createLd({ name: 'ld', pool: 'p', size: opts.ldSize ?? 16 * MiB });
  const dev = new SpyDevice(array.exports().open('ld')!);
  const info = array.getLd('ld');
  const groups: TargetPortGroupInfo[] = [
    { id: 0, state: 'active/optimized', relativeTargetPortIds: [1, 3] },
    { id: 1, state: 'active/non-optimized', relativeTargetPortIds: [2, 4] },
  ];
  const source: LogicalUnitSource = {
    naa: info.naa,
    serial: info.serial,
    device: dev,
    vendor: 'KURA',
    product: 'Kura LD',
    revision: '0.1',
    portGroups: () => groups,
    thin: opts.thin ?? true,
  };
  const lu = new LogicalUnit(source, opts.prStore);
  const luns = new Map<number, LogicalUnit>([[0, lu]]);
  const resolver: LunResolver = {
    luns: () => [...luns.keys()].sort((a, b) => a - b),
    lookup: (_n, lun) => luns.get(lun),
  };
  const target = new ScsiTarget(resolver);
  const f: Fixture = {
    array,
    dir,
    dev,
    source,
    lu,
    target,
    luns,
    groups,
    exec(cdb, o = {}) {
      const buf = Buffer.isBuffer(cdb) ? cdb : Buffer.from(cdb);
      const cmd: ScsiCommand = { nexus: o.nexus ?? NEXUS_A, lun: o.lun ?? 0, cdb: buf, dataOut: o.dataOut, expectedDataLength: o.expected ?? o.dataOut?.length ?? 0 };
      return target.execute(cmd);
    },
    poolUsed: () => array.getPool('p').used,
  };
  if (!opts.keepUnitAttentions) {
    for (const n of [NEXUS_A, NEXUS_B]) {
      target.nexusCreated(n);
      await clearUnitAttentions(f, n);
    }
  }
  return f;
}

export async function clearUnitAttentions(f: Fixture, nexus: ItNexus, lun = 0): Promise<number> {
  let n = 0;
  for (;;) {
    const r = await f.exec(cdb.testUnitReady(), { nexus, lun });
    if (r.status === 0x02 && r.sense && parseSense(r.sense).key === 0x6) {
      n++;
      continue;
    }
    return n;
  }
}

// ---- assertions ----

export function expectGood(r: ScsiResponse, msg?: string): void {
  if (r.status !== 0) {
    const s = r.sense ? parseSense(r.sense) : undefined;
    assert.fail(`${msg ?? 'command'}: expected GOOD, got status ${r.status.toString(16)}${s ? ` sense ${s.key.toString(16)}/${s.asc.toString(16)}/${s.ascq.toString(16)}` : ''}`);
  }
}

export function expectSense(r: ScsiResponse, key: number, asc: number, ascq: number, msg?: string): ReturnType<typeof parseSense> {
  assert.equal(r.status, 0x02, `${msg ?? 'command'}: expected CHECK CONDITION, got status ${r.status.toString(16)}`);
  assert.ok(r.sense, 'sense data present');
  const s = parseSense(r.sense!);
  assert.deepEqual([s.key, s.asc, s.ascq].map((x) => x.toString(16)), [key, asc, ascq].map((x) => x.toString(16)), `${msg ?? 'command'}: sense key/ASC/ASCQ`);
  assert.equal(r.sense![0]! & 0x7f, 0x70, 'fixed format, current');
  assert.equal(r.sense![7], r.sense!.length - 8, 'ADDITIONAL SENSE LENGTH');
  return s;
}

export function expectConflict(r: ScsiResponse, msg?: string): void {
  assert.equal(r.status, 0x18, `${msg ?? 'command'}: expected RESERVATION CONFLICT, got status ${r.status.toString(16)}`);
}

export function pattern(blocks: number, seed: number): Buffer {
  const b = Buffer.alloc(blocks * BS);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + seed * 7 + (i >> 9)) & 0xff;
  return b;
}

// ---- CDB builders ----

/** Big-endian bytes of n; negative numbers wrap (-1 is all ones). Pass a bigint above 2^53. */
function be(n: number | bigint, bytes: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(8 * bytes, BigInt(n));
  for (let i = 0; i < bytes; i++) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

export const cdb = {
  testUnitReady: () => Buffer.from([0x00, 0, 0, 0, 0, 0]),
  requestSense: (alloc = 252) => Buffer.from([0x03, 0, 0, 0, alloc, 0]),
  inquiry: (evpd: boolean, page: number, alloc: number) => Buffer.from([0x12, evpd ? 1 : 0, page, ...be(alloc, 2), 0]),
  reportLuns: (select: number, alloc: number) => Buffer.from([0xa0, 0, select, 0, 0, 0, ...be(alloc, 4), 0, 0]),
  readCapacity10: () => Buffer.from([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  readCapacity16: (alloc = 32) => Buffer.from([0x9e, 0x10, ...be(0, 8), ...be(alloc, 4), 0, 0]),
  getLbaStatus: (lba: number | bigint, alloc = 24) => Buffer.from([0x9e, 0x12, ...be(lba, 8), ...be(alloc, 4), 0, 0]),
  read6: (lba: number, blocks: number) => Buffer.from([0x08, (lba >> 16) & 0x1f, (lba >> 8) & 0xff, lba & 0xff, blocks & 0xff, 0]),
  write6: (lba: number, blocks: number) => Buffer.from([0x0a, (lba >> 16) & 0x1f, (lba >> 8) & 0xff, lba & 0xff, blocks & 0xff, 0]),
  read10: (lba: number, blocks: number, flags = 0) => Buffer.from([0x28, flags, ...be(lba, 4), 0, ...be(blocks, 2), 0]),
  write10: (lba: number, blocks: number, flags = 0) => Buffer.from([0x2a, flags, ...be(lba, 4), 0, ...be(blocks, 2), 0]),
  read12: (lba: number, blocks: number, flags = 0) => Buffer.from([0xa8, flags, ...be(lba, 4), ...be(blocks, 4), 0, 0]),
  write12: (lba: number, blocks: number, flags = 0) => Buffer.from([0xaa, flags, ...be(lba, 4), ...be(blocks, 4), 0, 0]),
  read16: (lba: number | bigint, blocks: number, flags = 0) => Buffer.from([0x88, flags, ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  write16: (lba: number | bigint, blocks: number, flags = 0) => Buffer.from([0x8a, flags, ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  verify10: (lba: number, blocks: number, bytchk = 0, flags = 0) => Buffer.from([0x2f, flags | (bytchk << 1), ...be(lba, 4), 0, ...be(blocks, 2), 0]),
  verify16: (lba: number, blocks: number, bytchk = 0, flags = 0) => Buffer.from([0x8f, flags | (bytchk << 1), ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  writeAndVerify10: (lba: number, blocks: number, bytchk = true) => Buffer.from([0x2e, bytchk ? 0x02 : 0, ...be(lba, 4), 0, ...be(blocks, 2), 0]),
  writeAndVerify16: (lba: number, blocks: number, bytchk = true) => Buffer.from([0x8e, bytchk ? 0x02 : 0, ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  orWrite: (lba: number | bigint, blocks: number, flags = 0) => Buffer.from([0x8b, flags, ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  readDefectData10: (flags: number, alloc: number) => Buffer.from([0x37, 0, flags, 0, 0, 0, 0, ...be(alloc, 2), 0]),
  readDefectData12: (flags: number, alloc: number) => Buffer.from([0xb7, flags, 0, 0, 0, 0, ...be(alloc, 4), 0, 0]),
  compareAndWrite: (lba: number, blocks: number, flags = 0) => Buffer.from([0x89, flags, ...be(lba, 8), 0, 0, 0, blocks, 0, 0]),
  writeSame10: (lba: number, blocks: number, flags = 0) => Buffer.from([0x41, flags, ...be(lba, 4), 0, ...be(blocks, 2), 0]),
  writeSame16: (lba: number | bigint, blocks: number, flags = 0) => Buffer.from([0x93, flags, ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  unmap: (paramLength: number, anchor = false) => Buffer.from([0x42, anchor ? 1 : 0, 0, 0, 0, 0, 0, ...be(paramLength, 2), 0]),
  syncCache10: (lba = 0, blocks = 0) => Buffer.from([0x35, 0, ...be(lba, 4), 0, ...be(blocks, 2), 0]),
  syncCache16: (lba = 0, blocks = 0) => Buffer.from([0x91, 0, ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  preFetch10: (lba: number, blocks: number, immed = false) => Buffer.from([0x34, immed ? 2 : 0, ...be(lba, 4), 0, ...be(blocks, 2), 0]),
  preFetch16: (lba: number, blocks: number) => Buffer.from([0x90, 0, ...be(lba, 8), ...be(blocks, 4), 0, 0]),
  modeSense6: (page: number, opts: { pc?: number; dbd?: boolean; subpage?: number; alloc?: number } = {}) =>
    Buffer.from([0x1a, opts.dbd ? 0x08 : 0, ((opts.pc ?? 0) << 6) | page, opts.subpage ?? 0, opts.alloc ?? 255, 0]),
  modeSense10: (page: number, opts: { pc?: number; dbd?: boolean; llbaa?: boolean; alloc?: number } = {}) =>
    Buffer.from([0x5a, (opts.dbd ? 0x08 : 0) | (opts.llbaa ? 0x10 : 0), ((opts.pc ?? 0) << 6) | page, 0, 0, 0, 0, ...be(opts.alloc ?? 4096, 2), 0]),
  modeSelect6: (length: number, sp = false) => Buffer.from([0x15, 0x10 | (sp ? 1 : 0), 0, 0, length, 0]),
  modeSelect10: (length: number) => Buffer.from([0x55, 0x10, 0, 0, 0, 0, 0, ...be(length, 2), 0]),
  reserve6: () => Buffer.from([0x16, 0, 0, 0, 0, 0]),
  release6: () => Buffer.from([0x17, 0, 0, 0, 0, 0]),
  reserve10: () => Buffer.from([0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  release10: () => Buffer.from([0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  prIn: (sa: number, alloc = 8192) => Buffer.from([0x5e, sa, 0, 0, 0, 0, 0, ...be(alloc, 2), 0]),
  prOut: (sa: number, type = 0, paramLength = 24, scope = 0) => Buffer.from([0x5f, sa, (scope << 4) | type, 0, 0, ...be(paramLength, 4), 0]),
  rtpg: (alloc: number, extended = false) => Buffer.from([0xa3, 0x0a | (extended ? 0x20 : 0), 0, 0, 0, 0, ...be(alloc, 4), 0, 0]),
  rsoc: (options: number, opcode = 0, sa = 0, rctd = false, alloc = 65535) => Buffer.from([0xa3, 0x0c, (rctd ? 0x80 : 0) | options, opcode, ...be(sa, 2), ...be(alloc, 4), 0, 0]),
  rstmf: (repd = false, alloc = 16) => Buffer.from([0xa3, 0x0d, repd ? 0x80 : 0, 0, 0, 0, ...be(alloc, 4), 0, 0]),
  startStopUnit: (start: boolean, loej = false) => Buffer.from([0x1b, 0, 0, 0, (loej ? 2 : 0) | (start ? 1 : 0), 0]),
  preventAllow: (prevent: number) => Buffer.from([0x1e, 0, 0, 0, prevent, 0]),
};

/** The 24-byte basic PERSISTENT RESERVE OUT parameter list. */
export function prOutParams(key: bigint, sark: bigint, flags: { aptpl?: boolean; allTgPt?: boolean; specIpt?: boolean } = {}): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigUInt64BE(key, 0);
  b.writeBigUInt64BE(sark, 8);
  b[20] = (flags.specIpt ? 0x08 : 0) | (flags.allTgPt ? 0x04 : 0) | (flags.aptpl ? 0x01 : 0);
  return b;
}

/** An UNMAP parameter list. */
export function unmapParams(ranges: Array<[number, number]>): Buffer {
  const b = Buffer.alloc(8 + 16 * ranges.length);
  b.writeUInt16BE(b.length - 2, 0);
  b.writeUInt16BE(16 * ranges.length, 2);
  ranges.forEach(([lba, n], i) => {
    b.writeBigUInt64BE(BigInt(lba), 8 + 16 * i);
    b.writeUInt32BE(n, 16 + 16 * i);
  });
  return b;
}
