// kura vsim as a library: a simulated vCenter with its ESXi hosts, driving the
// VVOL provider over Kura's REST API exactly as vCenter and ESXi call a VASA
// provider (CreateVirtualVolume with the VM's identity in the metadata, Bind
// and Unbind batches at power on and off, PrepareToSnapshot + Snapshot, Revert,
// FastClone, Clone, Storage vMotion, Delete), and doing its own data I/O
// through the host's pathd, which exports each bound VVOL over NBD.
//
// It keeps no VM records: a VM is read back from the provider each time (its
// VVOLs carry its identity, src/vsim/identity.ts; bindings tell whether and
// where it runs). The one thing only the simulator knows is which pathd backs
// which host (host-list.ts).
import crypto from 'node:crypto';
import { CONTAINERS, PES, VASA, VVOLS } from '../api/vasa.js';
import { HOSTS } from '../api/hosts.js';
import type { ApiRoute, PathParams, QueryParams } from '../api/route.js';
import type { HostInfo } from '../array/hosts/agent.js';
import type { KuraError } from '../errors.js';
import {
  VSIM_BAD_ARG,
  VSIM_EXPORT_TIMEOUT,
  VSIM_HOST_RUNS_VMS,
  VSIM_LUN_TAKEN,
  VSIM_NO_HOST,
  VSIM_NO_SNAPSHOT,
  VSIM_NO_VM,
  VSIM_PARTIAL_UNDO,
  VSIM_PROVIDER_FAILED,
  VSIM_SNAPSHOT_EXISTS,
  VSIM_TASK_FAILED,
  VSIM_VM_ALREADY_ON,
  VSIM_VM_EXISTS,
  VSIM_VM_HAS_LINKED_CLONES,
  VSIM_VM_HAS_SNAPSHOTS,
  VSIM_VM_POWERED_OFF,
  VSIM_VM_POWERED_ON,
} from '../catalogue/vsim.js';
import type { VvolView } from '../vvol/model.js';
import type { ContainerView, PeView } from '../vvol/provider.js';
import type { TaskInfo } from '../vvol/tasks.js';
import { memoryImage, vmxFile, writeExport } from './disk-io.js';
import type { HostList, SimHost } from './host-list.js';
import { DEFAULT_DATACENTER, KEY, fileName, identityOf, vvolMetadata, vvolOrder, type VmIdentity, type VvolKind } from './identity.js';
import { PathdClient, type PathdDevice } from './pathd-client.js';
import { checkQuiesceHook } from './quiesce-hook.js';

/** What the simulator needs of a REST client: the CLI's ApiClient is one. */
export interface ApiTransport {
  send<T = unknown>(route: ApiRoute, params?: PathParams, body?: unknown, query?: QueryParams): Promise<T>;
}

export interface HypervisorOptions {
  api: ApiTransport;
  hosts: HostList;
  /** Progress of long operations (full clone, migration), 0-100. */
  progress?: (label: string, percent: number) => void;
  /** How long a bound VVOL may take to appear in pathd's exports (default 30 s). */
  exportTimeoutMs?: number;
  /**
   * Warnings of an operation that then fails (KURA-W3600: what its undo left
   * behind), which the thrown error cannot carry; the CLI prints them on stderr.
   */
  warn?: (w: Warning) => void;
}

export interface VmVvol {
  id: string;
  type: string;
  ld: number;
  /** Bound for some host now. */
  bound: boolean;
  /** nbd://HOST:PORT/NAME of the pathd export serving it while bound, else null. */
  export: string | null;
  /** VMW_VVolName: the file it holds. */
  name: string;
  size: number;
  container: number;
  policy: string | null;
  linkedFrom: string | null;
}

export interface VmSnapshot {
  name: string;
  created: string;
  /** The memory VVOL saved with it (a powered-on VM), or null. */
  memory: string | null;
  /** One ESV per config and data VVOL. */
  vvols: Array<{ id: string; ld: number; of: string }>;
}

export interface VmInfo {
  name: string;
  id: string;
  datacenter: string;
  /** The container of its config VVOL (the VM's home). */
  container: string;
  memory: number;
  power: 'on' | 'off';
  host: string | null;
  /** The guest-quiesce script the backup runs (KURA_QuiesceHook on its VVOLs), or null. */
  quiesceHook: string | null;
  vvols: VmVvol[];
  snapshots: VmSnapshot[];
}

export interface CreateVmRequest {
  name: string;
  container: string;
  /** Data disk sizes in bytes (one VVOL each). */
  disks: number[];
  memory?: number;
  policy?: string;
  datacenter?: string;
  /** Absolute path of the guest-quiesce script (checked, quiesce-hook.ts). */
  quiesceHook?: string;
}

export interface Warning {
  id: string;
  text: string;
}

type Batch<T> = Array<{ id: string; ok: boolean; value?: T; error?: { id: string; message: string; action: string } }>;

const GiB = 2 ** 30;
/** vSphere makes a VM's config VVOL (its home namespace) 4 GB; thin, it costs what is written. */
export const CONFIG_VVOL_SIZE = 4 * GiB;
export const DEFAULT_MEMORY = GiB;
const POLL_MS = 100;

const running = (t: TaskInfo): boolean => t.state === 'queued' || t.state === 'running';

/** The VM's hook as its VVOLs carry it (the config VVOL's first). */
const hookOf = (own: VvolView[]): string | null =>
  [...own.filter((v) => v.type === 'config'), ...own].map((v) => v.metadata[KEY.quiesceHook]).find((h) => h !== undefined && h !== '') ?? null;
const hookKey = (hook: string | null): Record<string, string> => (hook === null ? {} : { [KEY.quiesceHook]: hook });

export class Hypervisor {
  private readonly api: ApiTransport;
  readonly hosts: HostList;
  private readonly progress: (label: string, percent: number) => void;
  private readonly exportTimeoutMs: number;
  private readonly warn: (w: Warning) => void;

  constructor(o: HypervisorOptions) {
    this.api = o.api;
    this.hosts = o.hosts;
    this.progress = o.progress ?? (() => undefined);
    this.exportTimeoutMs = o.exportTimeoutMs ?? 30_000;
    this.warn = o.warn ?? (() => undefined);
  }

  // ---- hosts ----

  private host(name: string): SimHost {
    const h = this.hosts.get(name);
    if (!h) throw VSIM_NO_HOST({ host: name });
    return h;
  }

  /**
   * Adds an ESXi host backed by a running pathd: the array's host entry with
   * pathd's initiator name, every PE mapped to it at the LUN the PE has on the
   * other hosts (a PE is shared at one LUN, VVM L295-L298), then a rescan so
   * pathd logs in to the PEs.
   */
  async addHost(name: string, pathdUrl: string): Promise<SimHost & { pes: Array<{ pe: string; lun: number }> }> {
    const pathd = new PathdClient(pathdUrl);
    const status = await pathd.status();
    const hosts = await this.api.send<HostInfo[]>(HOSTS.list);
    const found = hosts.find((h) => h.name === name);
    const others = hosts.filter((h) => h.name !== name).flatMap((h) => h.luns);
    const mine = found?.luns ?? [];
    // The plan first, so a conflict changes nothing on the array.
    const plan: Array<{ pe: string; lun: number; map: boolean }> = [];
    for (const pe of await this.api.send<PeView[]>(PES.list)) {
      const have = mine.find((l) => l.ldNumber === pe.ld);
      if (have) {
        plan.push({ pe: pe.name, lun: have.lun, map: false });
        continue;
      }
      let lun = others.find((l) => l.ldNumber === pe.ld)?.lun;
      if (lun !== undefined) {
        const taken = mine.find((l) => l.lun === lun);
        if (taken) throw VSIM_LUN_TAKEN({ pe: pe.name, lun, host: name, other: taken.ld });
      } else {
        // No other host has it: the lowest LUN free on this host and on every other one.
        const used = new Set([...mine, ...others].map((l) => l.lun).concat(plan.map((p) => p.lun)));
        lun = 0;
        while (used.has(lun)) lun++;
      }
      plan.push({ pe: pe.name, lun, map: true });
    }
    if (!found) await this.api.send<HostInfo>(HOSTS.create, {}, { name, initiators: [status.initiator] });
    else if (!found.initiators.includes(status.initiator)) await this.api.send<HostInfo>(HOSTS.addInitiator, { name }, { iqn: status.initiator });
    for (const p of plan) if (p.map) await this.api.send<HostInfo>(HOSTS.map, { name }, { ld: p.pe, lun: p.lun });
    const mapped = plan.map((p) => ({ pe: p.pe, lun: p.lun }));
    await pathd.rescan();
    const h: SimHost = { name, pathd: pathd.url, initiator: status.initiator, added: new Date().toISOString() };
    this.hosts.put(h);
    return { ...h, pes: mapped };
  }

  listHosts(): SimHost[] {
    return this.hosts.list();
  }

  /** Removes a host: its array host entry goes, and with it every bind it held. */
  async removeHost(name: string, force = false): Promise<void> {
    this.host(name);
    const on = (await this.listVms()).filter((v) => v.host === name);
    if (on.length > 0 && !force) throw VSIM_HOST_RUNS_VMS({ host: name, vms: on.map((v) => v.name).join(', ') });
    const entry = (await this.api.send<HostInfo[]>(HOSTS.list)).find((h) => h.name === name);
    if (entry) await this.api.send(HOSTS.delete, { name });
    this.hosts.remove(name);
  }

  // ---- reading VMs back from the provider ----

  private async allVvols(vm?: string): Promise<VvolView[]> {
    return this.api.send<VvolView[]>(VVOLS.list, {}, undefined, { vm });
  }

  private async containers(): Promise<ContainerView[]> {
    return this.api.send<ContainerView[]>(CONTAINERS.list);
  }

  private async bindingHosts(id: string): Promise<string[]> {
    const bs = await this.api.send<Array<{ hosts: Record<string, number> }>>(VVOLS.bindings, { id });
    return [...new Set(bs.flatMap((b) => Object.keys(b.hosts)))].sort();
  }

  /** A VM's VVOLs as the provider has them; throws when it has none. */
  private async vvolsOf(name: string): Promise<{ own: VvolView[]; snaps: VvolView[]; ident: VmIdentity }> {
    const all = (await this.allVvols(name)).filter((v) => identityOf(v)?.name === name);
    const config = all.find((v) => v.type === 'config' && v.snapshotOf === null) ?? all[0];
    const ident = config === undefined ? undefined : identityOf(config);
    if (!ident) throw VSIM_NO_VM({ vm: name });
    const mine = all.filter((v) => identityOf(v)!.id === ident.id);
    return { own: mine.filter((v) => v.snapshotOf === null).sort(vvolOrder), snaps: mine.filter((v) => v.snapshotOf !== null), ident };
  }

  private snapshotsOf(own: VvolView[], snaps: VvolView[]): VmSnapshot[] {
    const groups = new Map<string, VmSnapshot>();
    for (const s of snaps.sort((a, b) => a.created.localeCompare(b.created) || a.ld - b.ld)) {
      const key = s.snapshotGroup ?? s.snapshotName ?? s.id;
      let g = groups.get(key);
      if (!g) {
        const name = s.snapshotName ?? key;
        const mem = own.find((v) => v.type === 'memory' && v.metadata[KEY.snapshot] === name);
        groups.set(key, (g = { name, created: s.created, memory: mem?.id ?? null, vvols: [] }));
      }
      g.vvols.push({ id: s.id, ld: s.ld, of: s.snapshotOf! });
    }
    return [...groups.values()];
  }

  private async exportsOf(host: string | null): Promise<{ nbd: string; devices: PathdDevice[] } | null> {
    const h = host === null ? undefined : this.hosts.get(host);
    if (!h) return null;
    const pathd = new PathdClient(h.pathd);
    const [status, devices] = await Promise.all([pathd.status(), pathd.devices()]);
    return { nbd: status.nbd, devices };
  }

  /** A VM as vCenter shows it: identity, power state, VVOLs (with their pathd exports while bound), snapshots. */
  async getVm(name: string): Promise<VmInfo> {
    const { own, snaps, ident } = await this.vvolsOf(name);
    const config = own.find((v) => v.type === 'config');
    const hostsOf = new Map<string, string[]>();
    for (const v of own) hostsOf.set(v.id, v.boundPes.length > 0 ? await this.bindingHosts(v.id) : []);
    // Powered on where its config VVOL is bound (ESXi binds it first and unbinds it last).
    const host = (config && hostsOf.get(config.id)?.[0]) ?? null;
    const exp = await this.exportsOf(host);
    const uriOf = (v: VvolView): string | null => {
      if (!exp || !(hostsOf.get(v.id) ?? []).includes(host!)) return null;
      const d = exp.devices.find((x) => x.id.toLowerCase() === v.id.toLowerCase() && x.paths.length > 0);
      return d ? PathdClient.uri(exp.nbd, d.export) : null;
    };
    const pools = await this.containers();
    const home = config?.container ?? own[0]?.container;
    return {
      name: ident.name,
      id: ident.id,
      datacenter: ident.datacenter,
      container: pools.find((p) => p.pool === home)?.name ?? String(home),
      memory: Number(config?.metadata[KEY.memory] ?? own.find((v) => v.type === 'swap')?.size ?? 0),
      power: host === null ? 'off' : 'on',
      host,
      quiesceHook: hookOf(own),
      vvols: own.map((v) => ({
        id: v.id,
        type: v.type,
        ld: v.ld,
        bound: (hostsOf.get(v.id) ?? []).length > 0,
        export: uriOf(v),
        name: v.metadata[KEY.name] ?? '',
        size: v.size,
        container: v.container,
        policy: v.policy,
        linkedFrom: v.linkedFrom,
      })),
      snapshots: this.snapshotsOf(own, snaps),
    };
  }

  /** Every VM that has VVOLs on the array, by name. */
  async listVms(): Promise<Array<Pick<VmInfo, 'name' | 'id' | 'datacenter' | 'power' | 'host'> & { container: string; vvols: number; snapshots: number }>> {
    const all = await this.allVvols();
    const pools = await this.containers();
    const byId = new Map<string, VvolView[]>();
    for (const v of all) {
      const id = identityOf(v)?.id;
      if (id !== undefined) byId.set(id, [...(byId.get(id) ?? []), v]);
    }
    const out = [];
    for (const vs of byId.values()) {
      const own = vs.filter((v) => v.snapshotOf === null);
      const config = own.find((v) => v.type === 'config') ?? own[0] ?? vs[0]!;
      const ident = identityOf(config)!;
      const host = config.boundPes.length > 0 ? ((await this.bindingHosts(config.id))[0] ?? null) : null;
      out.push({
        name: ident.name,
        id: ident.id,
        datacenter: ident.datacenter,
        power: host === null ? ('off' as const) : ('on' as const),
        host,
        container: pools.find((p) => p.pool === config.container)?.name ?? String(config.container),
        vvols: own.length,
        snapshots: new Set(vs.filter((v) => v.snapshotOf !== null).map((v) => v.snapshotGroup)).size,
      });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  // ---- provider calls ----

  private async createVvol(
    ident: VmIdentity,
    kind: VvolKind,
    container: string,
    size: number,
    extra: Record<string, string>,
    policy: string | undefined,
    warnings: Warning[],
  ): Promise<VvolView> {
    const body: Record<string, unknown> = { container, type: kind, size, vm: ident.name, metadata: vvolMetadata(ident, kind, extra) };
    if (policy !== undefined) body['policy'] = policy;
    const r = await this.api.send<{ vvol: VvolView; warnings: Warning[] }>(VVOLS.create, {}, body);
    warnings.push(...r.warnings);
    return r.vvol;
  }

  /**
   * Deletes VVOLs a failed operation made; what cannot go is reported through
   * `warn` (KURA-W3600), not thrown: the first error stays the one thrown.
   */
  private async undo(what: string, ids: string[]): Promise<void> {
    const left: string[] = [];
    for (const id of ids.reverse()) {
      try {
        const r = await this.api.send<{ task: TaskInfo | null }>(VVOLS.delete, { id });
        if (r.task) await this.waitTask(r.task, `${what}: deleting ${id}`, false);
      } catch {
        left.push(id);
      }
    }
    if (left.length > 0) this.warn({ id: VSIM_PARTIAL_UNDO.id, text: VSIM_PARTIAL_UNDO({ what, left: left.join(', ') }) });
  }

  /** The first failed item of a batch as an error. */
  private batchFailure<T>(what: string, items: Batch<T>): KuraError | undefined {
    const bad = items.find((i) => !i.ok);
    if (!bad) return undefined;
    return VSIM_PROVIDER_FAILED({ what, vvol: bad.id, id: bad.error?.id ?? '?', message: bad.error?.message ?? '' });
  }

  private async waitTask(t: TaskInfo, label: string, show = true): Promise<TaskInfo> {
    const [done] = await this.waitTasks([t], label, show);
    return done!;
  }

  /** Waits for tasks, reporting their mean progress; throws if one did not succeed (after all ended). */
  private async waitTasks(tasks: TaskInfo[], label: string, show = true): Promise<TaskInfo[]> {
    let ts = tasks;
    while (ts.some(running)) {
      if (show) this.progress(label, ts.reduce((s, t) => s + t.progress, 0) / ts.length);
      await new Promise((r) => setTimeout(r, POLL_MS));
      ts = await Promise.all(ts.map((t) => (running(t) ? this.api.send<TaskInfo>(VASA.task, { id: t.id }) : t)));
    }
    if (show) this.progress(label, 100);
    const bad = ts.find((t) => t.state !== 'success');
    if (bad)
      throw VSIM_TASK_FAILED({
        what: label,
        task: bad.id,
        state: bad.state,
        // The sentence ends with the reason's full stop, not a second one.
        reason: bad.error ? `${bad.error.id} ${bad.error.message}`.replace(/\.$/, '') : 'no reason given',
      });
    return ts;
  }

  private async vmNameFree(name: string): Promise<void> {
    const taken = (await this.allVvols(name)).map(identityOf).find((i) => i?.name === name);
    if (taken) throw VSIM_VM_EXISTS({ vm: name, datacenter: taken.datacenter });
  }

  // ---- VM lifecycle ----

  /** Creates a VM: its config VVOL (home), one data VVOL per disk and its swap VVOL, all carrying its identity. */
  async createVm(req: CreateVmRequest): Promise<{ vm: VmInfo; warnings: Warning[] }> {
    if (req.disks.length === 0) throw VSIM_BAD_ARG({ what: '--disk', why: 'a VM needs at least one disk' });
    const hook = hookKey(req.quiesceHook === undefined ? null : checkQuiesceHook(req.quiesceHook));
    await this.vmNameFree(req.name);
    const ident: VmIdentity = { id: crypto.randomUUID(), name: req.name, datacenter: req.datacenter ?? DEFAULT_DATACENTER };
    const memory = req.memory ?? DEFAULT_MEMORY;
    const warnings: Warning[] = [];
    const made: string[] = [];
    try {
      const add = async (kind: VvolKind, size: number, extra: Record<string, string>) =>
        made.push((await this.createVvol(ident, kind, req.container, size, { ...extra, ...hook }, req.policy, warnings)).id);
      await add('config', CONFIG_VVOL_SIZE, { [KEY.name]: fileName.config(req.name), [KEY.memory]: String(memory) });
      for (const [i, size] of req.disks.entries()) await add('data', size, { [KEY.name]: fileName.data(req.name, i), [KEY.disk]: `scsi0:${i}` });
      await add('swap', memory, { [KEY.name]: fileName.swap(req.name, ident.id) });
    } catch (e) {
      await this.undo(`creating VM ${req.name}`, made);
      throw e;
    }
    return { vm: await this.getVm(req.name), warnings };
  }

  /**
   * Sets (a path) or removes (null) a VM's guest-quiesce hook, as a hypervisor
   * passes on what the guest's tools report: the KURA_QuiesceHook key on every
   * VVOL of the VM, its snapshots' too (an ESV copies its VVOL's metadata, and
   * the backup engine takes the hook from any VVOL of the VM). Any power state:
   * a guest's tools change while it runs. A failure part way leaves some VVOLs
   * changed; running the command again finishes it.
   */
  async setQuiesceHook(name: string, hook: string | null): Promise<VmInfo> {
    const value = hook === null ? null : checkQuiesceHook(hook);
    const { own, snaps } = await this.vvolsOf(name);
    for (const v of [...own, ...snaps]) await this.api.send(VVOLS.metadata, { id: v.id }, { metadata: { [KEY.quiesceHook]: value } });
    return this.getVm(name);
  }

  /** Binds VVOLs for a host in one batch (as ESXi does) and waits until its pathd exports them. */
  private async bindFor(host: SimHost, ids: string[], what: string): Promise<Map<string, string>> {
    const items = await this.api.send<Batch<unknown>>(VVOLS.bind, {}, { ids, host: host.name });
    const failed = this.batchFailure(what, items);
    if (failed) {
      const bound = items.filter((i) => i.ok).map((i) => i.id);
      if (bound.length > 0) await this.api.send(VVOLS.unbind, {}, { ids: bound, host: host.name }).catch(() => undefined);
      throw failed;
    }
    try {
      return await this.waitExports(host, ids);
    } catch (e) {
      await this.api.send(VVOLS.unbind, {}, { ids, host: host.name }).catch(() => undefined);
      throw e;
    }
  }

  private async unbindFor(host: SimHost, ids: string[], what: string): Promise<void> {
    const items = await this.api.send<Batch<unknown>>(VVOLS.unbind, {}, { ids, host: host.name });
    // The host's view changed: rescan as ESXi does on the PE's unit attention, so the exports close now.
    await new PathdClient(host.pathd).rescan().catch(() => undefined);
    const failed = this.batchFailure(what, items);
    if (failed) throw failed;
  }

  /** VVOL id → pathd export URI, once pathd shows every one of them. */
  private async waitExports(host: SimHost, ids: string[]): Promise<Map<string, string>> {
    const pathd = new PathdClient(host.pathd);
    const { nbd } = await pathd.status();
    const end = Date.now() + this.exportTimeoutMs;
    let devices = await pathd.rescan();
    for (;;) {
      const found = new Map<string, string>();
      for (const id of ids) {
        const d = devices.find((x) => x.id.toLowerCase() === id.toLowerCase() && x.paths.length > 0);
        if (d) found.set(id, PathdClient.uri(nbd, d.export));
      }
      if (found.size === ids.length) return found;
      const missing = ids.find((id) => !found.has(id))!;
      if (Date.now() > end) throw VSIM_EXPORT_TIMEOUT({ vvol: missing, host: host.name, url: host.pathd, seconds: this.exportTimeoutMs / 1000 });
      await new Promise((r) => setTimeout(r, 200));
      devices = await pathd.rescan();
    }
  }

  /** Power on: binds the config, data and swap VVOLs for the host, waits for pathd's exports, writes the VMX file. */
  async powerOn(name: string, hostName: string): Promise<VmInfo> {
    const vm = await this.getVm(name);
    if (vm.power === 'on') throw VSIM_VM_ALREADY_ON({ vm: name, host: vm.host! });
    const host = this.host(hostName);
    const ids = vm.vvols.filter((v) => v.type !== 'memory').map((v) => v.id);
    const exports = await this.bindFor(host, ids, `Power on of ${name}`);
    const config = vm.vvols.find((v) => v.type === 'config');
    if (config) {
      const vmx = vmxFile({
        name,
        id: vm.id,
        datacenter: vm.datacenter,
        memory: vm.memory,
        disks: vm.vvols.filter((v) => v.type === 'data').map((v) => v.name),
        host: hostName,
      });
      try {
        await writeExport(exports.get(config.id)!, 0, vmx);
      } catch (e) {
        await this.unbindFor(host, ids, `Power on of ${name}`).catch(() => undefined);
        throw e;
      }
    }
    return this.getVm(name);
  }

  /** Power off: one unbind of each VVOL bound at power on. */
  async powerOff(name: string): Promise<VmInfo> {
    const vm = await this.getVm(name);
    if (vm.power === 'off') throw VSIM_VM_POWERED_OFF({ vm: name });
    const host = this.hosts.get(vm.host!) ?? { name: vm.host!, pathd: '', initiator: '', added: '' };
    const ids = vm.vvols.filter((v) => v.bound && v.type !== 'memory').map((v) => v.id);
    if (host.pathd === '') {
      // A host the simulator does not know (added elsewhere): unbind all the same.
      const items = await this.api.send<Batch<unknown>>(VVOLS.unbind, {}, { ids, host: host.name });
      const failed = this.batchFailure(`Power off of ${name}`, items);
      if (failed) throw failed;
    } else await this.unbindFor(host, ids, `Power off of ${name}`);
    return this.getVm(name);
  }

  /**
   * A VM snapshot: PrepareToSnapshot of its config and data VVOLs, then
   * Snapshot (a task: one ESV each). A powered-on VM's memory is saved too, in a
   * memory VVOL written through the host's pathd.
   */
  async snapshot(name: string, snapName: string): Promise<{ vm: VmInfo; warnings: Warning[] }> {
    const vm = await this.getVm(name);
    if (vm.snapshots.some((s) => s.name === snapName)) throw VSIM_SNAPSHOT_EXISTS({ vm: name, snapshot: snapName });
    const ids = vm.vvols.filter((v) => v.type === 'config' || v.type === 'data').map((v) => v.id);
    const prep = await this.api.send<{ prepareId: string | null; items: Batch<unknown> }>(VVOLS.prepareSnapshot, {}, { ids });
    const failed = this.batchFailure(`Snapshot ${snapName} of ${name}`, prep.items);
    if (failed) {
      // Some VVOLs were prepared: drop the prepare, or it keeps the VM's snapshot slot until a restart.
      if (prep.prepareId !== null) await this.api.send(VVOLS.abandonSnapshot, { prepareId: prep.prepareId }).catch(() => undefined);
      throw failed;
    }
    const task = await this.api.send<TaskInfo>(VVOLS.snapshot, { prepareId: prep.prepareId! }, { name: snapName });
    await this.waitTask(task, `snapshot ${snapName} of ${name}`, false);
    const warnings: Warning[] = [];
    if (vm.power === 'on') await this.saveMemory(vm, snapName, warnings);
    return { vm: await this.getVm(name), warnings };
  }

  private async saveMemory(vm: VmInfo, snapName: string, warnings: Warning[]): Promise<void> {
    const host = this.host(vm.host!);
    const ident: VmIdentity = { id: vm.id, name: vm.name, datacenter: vm.datacenter };
    const home = vm.vvols.find((v) => v.type === 'config')!;
    const mem = await this.createVvol(
      ident,
      'memory',
      String(home.container),
      vm.memory,
      { [KEY.name]: fileName.memory(vm.name, snapName), [KEY.snapshot]: snapName, ...hookKey(vm.quiesceHook) },
      undefined,
      warnings,
    );
    try {
      const exports = await this.bindFor(host, [mem.id], `Memory of snapshot ${snapName}`);
      try {
        await writeExport(exports.get(mem.id)!, 0, memoryImage(vm.id, snapName));
      } finally {
        await this.unbindFor(host, [mem.id], `Memory of snapshot ${snapName}`);
      }
    } catch (e) {
      await this.undo(`saving the memory of snapshot ${snapName}`, [mem.id]);
      throw e;
    }
  }

  /**
   * Revert to a snapshot (RevertVirtualVolume of each VVOL it holds). A running
   * VM is powered off first; with a memory snapshot it resumes on the same host.
   */
  async revert(name: string, snapName: string): Promise<VmInfo> {
    const vm = await this.getVm(name);
    const snap = vm.snapshots.find((s) => s.name === snapName);
    if (!snap) throw VSIM_NO_SNAPSHOT({ vm: name, snapshot: snapName });
    const host = vm.host;
    if (vm.power === 'on') await this.powerOff(name);
    for (const s of snap.vvols) await this.api.send(VVOLS.revert, { id: s.of }, { snapshot: s.id });
    if (host !== null && snap.memory !== null) return this.powerOn(name, host);
    return this.getVm(name);
  }

  /** Deletes a snapshot: its ESVs (the array removes them in tasks) and its memory VVOL. */
  async deleteSnapshot(name: string, snapName: string): Promise<VmInfo> {
    const vm = await this.getVm(name);
    const snap = vm.snapshots.find((s) => s.name === snapName);
    if (!snap) throw VSIM_NO_SNAPSHOT({ vm: name, snapshot: snapName });
    const tasks: TaskInfo[] = [];
    for (const s of snap.vvols) {
      const r = await this.api.send<{ task: TaskInfo | null }>(VVOLS.delete, { id: s.id });
      if (r.task) tasks.push(r.task);
    }
    await this.waitTasks(tasks, `deleting snapshot ${snapName} of ${name}`, false);
    if (snap.memory) await this.api.send(VVOLS.delete, { id: snap.memory });
    return this.getVm(name);
  }

  /**
   * Clones a VM. Its data VVOLs are cloned on the array: linked, a FastClone
   * (FCV, sharing the source's data, in its container); full, a Clone task per
   * disk (a copy through a replication pair, with progress). The clone gets a
   * new config VVOL and a new swap VVOL, as vSphere makes them.
   */
  async cloneVm(
    name: string,
    newName: string,
    o: { linked?: boolean; container?: string; datacenter?: string } = {},
  ): Promise<{ vm: VmInfo; warnings: Warning[] }> {
    const src = await this.getVm(name);
    await this.vmNameFree(newName);
    const pools = await this.containers();
    const target = o.container ?? src.container;
    if (o.linked && pools.find((p) => p.name === target || String(p.pool) === target)?.name !== src.container) {
      throw VSIM_BAD_ARG({ what: '--container', why: `a linked clone shares its source's data, so it stays in container ${src.container}` });
    }
    const ident: VmIdentity = { id: crypto.randomUUID(), name: newName, datacenter: o.datacenter ?? src.datacenter };
    // The clone's guest is a copy of the source's, its tools (the hook) included.
    const hook = hookKey(src.quiesceHook);
    const warnings: Warning[] = [];
    const made: string[] = [];
    const srcConfig = src.vvols.find((v) => v.type === 'config');
    try {
      made.push(
        (
          await this.createVvol(
            ident,
            'config',
            target,
            srcConfig?.size ?? CONFIG_VVOL_SIZE,
            { [KEY.name]: fileName.config(newName), [KEY.memory]: String(src.memory), ...hook },
            srcConfig?.policy ?? undefined,
            warnings,
          )
        ).id,
      );
      const tasks: TaskInfo[] = [];
      for (const [i, d] of src.vvols.filter((v) => v.type === 'data').entries()) {
        const body: Record<string, unknown> = {
          vm: newName,
          metadata: vvolMetadata(ident, 'data', { [KEY.name]: fileName.data(newName, i), [KEY.disk]: `scsi0:${i}`, ...hook }),
        };
        if (d.policy !== null) body['policy'] = d.policy;
        if (!o.linked) body['container'] = target;
        tasks.push(await this.api.send<TaskInfo>(o.linked ? VVOLS.fastClone : VVOLS.clone, { id: d.id }, body));
      }
      try {
        await this.waitTasks(tasks, `${o.linked ? 'linked' : 'full'} clone of ${name} to ${newName}`, !o.linked);
      } finally {
        // Every clone that succeeded is the new VM's, also when another failed (undone below).
        for (const t of await Promise.all(tasks.map((x) => this.api.send<TaskInfo>(VASA.task, { id: x.id })))) {
          const r = t.result as { vvol?: string; warnings?: Warning[] } | null;
          if (t.state === 'success' && r?.vvol) {
            made.push(r.vvol);
            warnings.push(...(r.warnings ?? []));
          }
        }
      }
      const swap = src.vvols.find((v) => v.type === 'swap');
      made.push(
        (
          await this.createVvol(
            ident,
            'swap',
            target,
            src.memory || DEFAULT_MEMORY,
            { [KEY.name]: fileName.swap(newName, ident.id), ...hook },
            swap?.policy ?? undefined,
            warnings,
          )
        ).id,
      );
    } catch (e) {
      await this.undo(`cloning VM ${name} to ${newName}`, made);
      throw e;
    }
    return { vm: await this.getVm(newName), warnings };
  }

  /** Storage vMotion of a powered-off VM without snapshots: a Migrate task per VVOL, with progress. */
  async migrate(name: string, container: string): Promise<VmInfo> {
    const vm = await this.getVm(name);
    if (vm.power === 'on') throw VSIM_VM_POWERED_ON({ vm: name, host: vm.host!, what: 'a migration' });
    if (vm.snapshots.length > 0) throw VSIM_VM_HAS_SNAPSHOTS({ vm: name, n: vm.snapshots.length, what: 'a migration' });
    const tasks: TaskInfo[] = [];
    for (const v of vm.vvols) tasks.push(await this.api.send<TaskInfo>(VVOLS.migrate, { id: v.id }, { container }));
    await this.waitTasks(tasks, `migration of ${name} to ${container}`);
    return this.getVm(name);
  }

  /** Deletes a powered-off VM: its snapshots first, then every VVOL. */
  async deleteVm(name: string): Promise<{ deleted: string[] }> {
    const vm = await this.getVm(name);
    if (vm.power === 'on') throw VSIM_VM_POWERED_ON({ vm: name, host: vm.host!, what: 'deleting it' });
    const own = new Set(vm.vvols.map((v) => v.id));
    const clones = (await this.allVvols()).filter((v) => v.linkedFrom !== null && own.has(v.linkedFrom) && !own.has(v.id));
    if (clones.length > 0) throw VSIM_VM_HAS_LINKED_CLONES({ vm: name, clones: [...new Set(clones.map((c) => c.vm))].join(', ') });
    const deleted: string[] = [];
    for (const s of vm.snapshots) {
      await this.deleteSnapshot(name, s.name);
      deleted.push(...s.vvols.map((v) => v.id), ...(s.memory ? [s.memory] : []));
    }
    const left = (await this.getVm(name)).vvols;
    // Data and swap first, the home (config) VVOL last, as vSphere removes a VM's files.
    for (const v of [...left.filter((x) => x.type !== 'config'), ...left.filter((x) => x.type === 'config')]) {
      const r = await this.api.send<{ task: TaskInfo | null }>(VVOLS.delete, { id: v.id });
      if (r.task) await this.waitTask(r.task, `deleting ${v.id}`, false);
      deleted.push(v.id);
    }
    return { deleted };
  }
}
