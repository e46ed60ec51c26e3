// Shared fixtures for the SCSI tests: a real array with a thin LD behind a
// LogicalUnit and a ScsiTarget, two I_T nexuses, and status/sense checks. CDBs
// are built with the vocabulary's builders (src/scsi/spec).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { KuraArray } from '../../src/array/array.js';
import type { UnmapRange, WriteOptions } from '../../src/block/device.js';
import { LayerDevice } from '../../src/block/layer-device.js';
import { LogicalUnit } from '../../src/scsi/logical-unit.js';
import { ScsiTarget } from '../../src/scsi/target.js';
import type { LunResolver } from '../../src/scsi/target.js';
import { CHECK_CONDITION, GOOD, RESERVATION_CONFLICT, UNIT_ATTENTION, cdb, parseSense } from '../../src/scsi/spec/index.js';
import type { SenseCode, SenseData } from '../../src/scsi/spec/index.js';
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
  await array.pools.createPool({ name: 'p', size: opts.poolSize ?? 64 * MiB, raid: 'RAID1' });
  await array.lds.createLd({ name: 'ld', pool: 'p', size: opts.ldSize ?? 16 * MiB });
  const dev = new SpyDevice(array.frontEnd.exports().open('ld')!);
  const info = array.lds.getLd('ld');
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
      const cmd: ScsiCommand = {
        nexus: o.nexus ?? NEXUS_A,
        lun: o.lun ?? 0,
        cdb: buf,
        dataOut: o.dataOut,
        expectedDataLength: o.expected ?? o.dataOut?.length ?? 0,
      };
      return target.execute(cmd);
    },
    poolUsed: () => array.pools.getPool('p').used,
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
    if (r.status === CHECK_CONDITION && parseSense(r.sense)?.key === UNIT_ATTENTION) {
      n++;
      continue;
    }
    return n;
  }
}

// ---- assertions ----

export function expectGood(r: ScsiResponse, msg?: string): void {
  if (r.status !== GOOD) {
    const s = parseSense(r.sense);
    assert.fail(
      `${msg ?? 'command'}: expected GOOD, got status ${r.status.toString(16)}${s ? ` sense ${s.key.toString(16)}/${s.asc.toString(16)}/${s.ascq.toString(16)}` : ''}`,
    );
  }
}

/** CHECK CONDITION with the named condition (e.g. LBA_OUT_OF_RANGE) in fixed-format current sense data. */
export function expectSense(r: ScsiResponse, code: SenseCode, msg?: string): SenseData {
  assert.equal(r.status, CHECK_CONDITION, `${msg ?? 'command'}: expected CHECK CONDITION, got status ${r.status.toString(16)}`);
  assert.ok(r.sense, 'sense data present');
  const s = parseSense(r.sense!)!;
  assert.deepEqual(
    [s.key, s.asc, s.ascq].map((x) => x.toString(16)),
    [code.key, code.asc, code.ascq].map((x) => x.toString(16)),
    `${msg ?? 'command'}: sense key/ASC/ASCQ`,
  );
  assert.equal(r.sense![0]! & 0x7f, 0x70, 'fixed format, current');
  assert.equal(r.sense![7], r.sense!.length - 8, 'ADDITIONAL SENSE LENGTH');
  return s;
}

export function expectConflict(r: ScsiResponse, msg?: string): void {
  assert.equal(r.status, RESERVATION_CONFLICT, `${msg ?? 'command'}: expected RESERVATION CONFLICT, got status ${r.status.toString(16)}`);
}

export function pattern(blocks: number, seed: number): Buffer {
  const b = Buffer.alloc(blocks * BS);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + seed * 7 + (i >> 9)) & 0xff;
  return b;
}
