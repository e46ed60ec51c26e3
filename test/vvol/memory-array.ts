// An in-memory disk array behind VvolArrayPort, for the provider's unit tests
// only (round 2 runs the same provider against the real array). LDs hold
// chunks; a chunk is a content string plus a token that says which physical
// chunk holds it, so snapshots and linked clones share tokens (as the engine
// shares chunks) and a write makes a new one: the allocated and unshared
// bitmaps mean what they mean on the real array. Faults are injected per
// method (`failNext`), copies can be held (`holdCopies`) to test queues,
// progress and cancellation.
import { KuraError } from '../../src/errors.js';
import type { CreateLdSpec, PortArrayIdentity, PortBitmap, PortCopy, PortLd, PortPool, VmwareLdType, VvolArrayPort, VvolLicense } from '../../src/vvol/port.js';

export const CHUNK = 2 ** 20;

interface Chunk {
  token: number;
  content: string;
}

interface Ld {
  number: number;
  name: string;
  pool: number;
  capacity: number;
  vmwareType: VmwareLdType | '---';
  owner: number;
  chunks: Map<number, Chunk>;
  io: { upper: number; lower: number };
  snapshotOf?: number;
  cloneOf?: number;
}

interface Pool {
  number: number;
  name: string;
  container: boolean;
  virtual: boolean;
  raid: string;
  pdType: string;
  encrypted: boolean;
  qosMode: 'on' | 'off';
  capacity: number;
}

type Method = keyof VvolArrayPort;

export class MemoryArray implements VvolArrayPort {
  readonly pools = new Map<number, Pool>();
  readonly lds = new Map<number, Ld>();
  readonly licenses = new Set<VvolLicense>(['VirtualVolume', 'DynamicSnapVolume', 'VolumeClone', 'DynamicDataReplication', 'IOLoadManager']);
  ssv = true;
  /** host → LD number → LUN. */
  readonly hosts = new Map<string, Map<number, number>>();
  /** "pe/slu" → the VVOL LD and the hosts that see it. */
  readonly subsidiaries = new Map<string, { vvol: number; hosts: Set<string> }>();
  /** One-shot failures: the next call of the method throws this error. */
  readonly failNext = new Map<Method, Error>();
  /** While set, full copies make no progress until releaseCopies(). */
  holdCopies = false;
  /** While set, deleting an LD waits for it (a snapshot deletion the array is still doing). */
  deleteGate: Promise<void> | null = null;
  private released: Array<() => void> = [];
  private token = 0;
  private identityValue: PortArrayIdentity;

  constructor(identity: Partial<PortArrayIdentity> = {}) {
    this.identityValue = { name: 'array0', wwn: '2000000991007777', model: 'M110', ...identity };
  }

  private maybeFail(m: Method): void {
    const e = this.failNext.get(m);
    if (e) {
      this.failNext.delete(m);
      throw e;
    }
  }

  // ---- test controls ----

  addPool(name: string, opts: Partial<Omit<Pool, 'number' | 'name'>> = {}): number {
    const number = Math.max(-1, ...this.pools.keys()) + 1;
    this.pools.set(number, {
      number,
      name,
      container: true,
      virtual: true,
      raid: 'RAID1',
      pdType: 'FILE',
      encrypted: false,
      qosMode: 'on',
      capacity: 64 * 2 ** 40,
      ...opts,
    });
    return number;
  }

  addHost(name: string): void {
    this.hosts.set(name, new Map());
  }

  mapLun(host: string, ld: number, lun: number): void {
    this.hosts.get(host)!.set(ld, lun);
  }

  write(ld: number, chunk: number, content: string): void {
    this.lds.get(ld)!.chunks.set(chunk, { token: ++this.token, content });
  }

  read(ld: number, chunk: number): string | undefined {
    return this.lds.get(ld)!.chunks.get(chunk)?.content;
  }

  /** What `host` sees behind the PE: subsidiary LU id → VVOL LD. */
  seenBehind(host: string, pe: number): Map<number, number> {
    const out = new Map<number, number>();
    for (const [k, v] of this.subsidiaries) {
      const [p, s] = k.split('/').map(Number);
      if (p === pe && v.hosts.has(host)) out.set(s!, v.vvol);
    }
    return out;
  }

  releaseCopies(): void {
    this.holdCopies = false;
    for (const r of this.released.splice(0)) r();
  }

  // ---- the port ----

  identity(): PortArrayIdentity {
    return { ...this.identityValue };
  }

  licensed(name: VvolLicense): boolean {
    return this.licenses.has(name);
  }

  hasSsv(): boolean {
    return this.ssv;
  }

  private poolView(p: Pool): PortPool {
    const lds = [...this.lds.values()].filter((l) => l.pool === p.number);
    const used = lds.reduce((n, l) => n + new Set([...l.chunks.values()].map((c) => c.token)).size * CHUNK, 0);
    return { ...p, used, free: p.capacity - used, virtualCapacity: lds.reduce((n, l) => n + l.capacity, 0), ldCount: lds.length };
  }

  listPools(): PortPool[] {
    this.maybeFail('listPools');
    return [...this.pools.values()].map((p) => this.poolView(p));
  }

  pool(number: number): PortPool | undefined {
    const p = this.pools.get(number);
    return p && this.poolView(p);
  }

  private view(l: Ld): PortLd {
    return { number: l.number, name: l.name, pool: l.pool, capacity: l.capacity, allocated: l.chunks.size * CHUNK, vmwareType: l.vmwareType, owner: l.owner };
  }

  ld(number: number): PortLd | undefined {
    const l = this.lds.get(number);
    return l && this.view(l);
  }

  ioLimits(number: number): { upper: number; lower: number } {
    return { ...this.lds.get(number)!.io };
  }

  private newLd(pool: number, name: string, capacity: number, vmwareType: Ld['vmwareType'], owner?: number): Ld {
    if (!this.pools.has(pool)) throw new KuraError('KURA-E2020', 'ENOENT', `Pool ${pool} does not exist.`, 'List pools.');
    if ([...this.lds.values()].some((l) => l.name === name)) throw new KuraError('KURA-E2031', 'EEXIST', `LD ${name} already exists.`, 'Choose another name.');
    let number = 0;
    while (this.lds.has(number)) number++;
    const l: Ld = { number, name, pool, capacity, vmwareType, owner: owner ?? number % 2, chunks: new Map(), io: { upper: 0, lower: 0 } };
    this.lds.set(number, l);
    return l;
  }

  async createLd(spec: CreateLdSpec): Promise<PortLd> {
    this.maybeFail('createLd');
    return this.view(this.newLd(spec.pool, spec.name, spec.size, spec.vmwareType, spec.owner));
  }

  private must(number: number): Ld {
    const l = this.lds.get(number);
    if (!l) throw new KuraError('KURA-E2030', 'ENOENT', `LD ${number} does not exist.`, 'List LDs.');
    return l;
  }

  async deleteLd(number: number): Promise<void> {
    this.maybeFail('deleteLd');
    this.must(number);
    if (this.deleteGate) await this.deleteGate;
    this.lds.delete(number);
  }

  async resizeLd(number: number, size: number): Promise<PortLd> {
    this.maybeFail('resizeLd');
    const l = this.must(number);
    if (size < l.capacity) throw new KuraError('KURA-E2040', 'EINVAL', 'Shrinking is refused.', 'Grow it.');
    l.capacity = size;
    return this.view(l);
  }

  async snapshot(base: number, name: string): Promise<PortLd> {
    this.maybeFail('snapshot');
    const b = this.must(base);
    const s = this.newLd(b.pool, `${b.name}@${name}`, b.capacity, b.vmwareType);
    s.chunks = new Map(b.chunks);
    s.snapshotOf = base;
    return this.view(s);
  }

  async revert(base: number, snap: number): Promise<void> {
    this.maybeFail('revert');
    this.must(base).chunks = new Map(this.must(snap).chunks);
  }

  async linkedClone(source: number, name: string): Promise<PortLd> {
    this.maybeFail('linkedClone');
    const s = this.must(source);
    const c = this.newLd(s.pool, name, s.capacity, s.vmwareType);
    c.chunks = new Map(s.chunks);
    c.cloneOf = source;
    return this.view(c);
  }

  fullCopy(source: number, target: number): PortCopy {
    this.maybeFail('fullCopy');
    const s = this.must(source);
    const t = this.must(target);
    const chunks = [...s.chunks.keys()].sort((a, b) => a - b);
    let copied = 0;
    let cancelled = false;
    const done = (async () => {
      for (const c of chunks) {
        while (this.holdCopies && !cancelled) await new Promise<void>((r) => this.released.push(r));
        if (cancelled) throw new KuraError('KURA-E2399', 'EIO', 'The copy was stopped.', 'Copy again.');
        await new Promise((r) => setImmediate(r));
        t.chunks.set(c, { token: ++this.token, content: s.chunks.get(c)!.content });
        copied++;
      }
      if (cancelled) throw new KuraError('KURA-E2399', 'EIO', 'The copy was stopped.', 'Copy again.');
    })();
    done.catch(() => undefined);
    return {
      done,
      progress: () => ({ copied: copied * CHUNK, total: chunks.length * CHUNK }),
      cancel: () => {
        cancelled = true;
        for (const r of this.released.splice(0)) r();
      },
    };
  }

  private bitmap(offset: number, length: number, set: (chunk: number) => boolean): PortBitmap {
    const first = Math.floor(offset / CHUNK);
    const n = Math.ceil((offset + length) / CHUNK) - first;
    const bits = Buffer.alloc(Math.ceil(n / 8));
    for (let i = 0; i < n; i++) if (set(first + i)) bits[i >> 3]! |= 0x80 >> (i & 7);
    return { offset: first * CHUNK, length: n * CHUNK, granularity: CHUNK, bits };
  }

  async allocatedBitmap(ld: number, offset: number, length: number): Promise<PortBitmap> {
    this.maybeFail('allocatedBitmap');
    const l = this.must(ld);
    return this.bitmap(offset, length, (c) => l.chunks.has(c));
  }

  async unsharedBitmap(ld: number, base: number, offset: number, length: number): Promise<PortBitmap> {
    this.maybeFail('unsharedBitmap');
    const l = this.must(ld);
    const b = this.must(base);
    return this.bitmap(offset, length, (c) => l.chunks.get(c)?.token !== b.chunks.get(c)?.token);
  }

  hostExists(host: string): boolean {
    return this.hosts.has(host);
  }

  lunOf(host: string, ld: number): number | undefined {
    return this.hosts.get(host)?.get(ld);
  }

  async mapSubsidiary(pe: number, slu: number, vvol: number, host: string): Promise<void> {
    this.maybeFail('mapSubsidiary');
    const k = `${pe}/${slu}`;
    const e = this.subsidiaries.get(k) ?? { vvol, hosts: new Set<string>() };
    if (e.vvol !== vvol) throw new Error(`subsidiary ${k} already holds LD ${e.vvol}`);
    e.hosts.add(host);
    this.subsidiaries.set(k, e);
  }

  async unmapSubsidiary(pe: number, slu: number, host: string): Promise<void> {
    this.maybeFail('unmapSubsidiary');
    const k = `${pe}/${slu}`;
    const e = this.subsidiaries.get(k);
    if (!e || !e.hosts.delete(host)) throw new Error(`host ${host} does not see subsidiary ${k}`);
    if (e.hosts.size === 0) this.subsidiaries.delete(k);
  }

  async setIoLimits(ld: number, limits: { upper: number; lower: number }): Promise<void> {
    this.maybeFail('setIoLimits');
    this.must(ld).io = { ...limits };
  }
}
