// What the array and its protocol front ends (iSCSI, NBD) tell each other: the
// hooks a front end registers (ports, ALUA, capacity, LUN and credential
// changes), the LD devices its clients hold (an LD's deletion asks), listeners
// for changes of who may use which LD, and the small durable state front ends
// keep in the array's metadata.
import type { BlockDevice } from '../block/device.js';
import type { LogicalDisk } from '../block/logical-disk.js';
import type { MetaStore } from '../block/meta-store.js';

export type { ExportEntry, ExportProvider } from '../block/exports.js';

/** A device a front end's client holds, and who that is in words ("NBD client 127.0.0.1:5000"). */
export interface OpenHandle {
  device: BlockDevice;
  holder: string;
}

/** What the array asks of its protocol front ends when controllers or ports change. */
export interface FrontEndHooks {
  portDown(host: string, port: number): void;
  portUp(host: string, port: number): Promise<void>;
  /** Ownership (ALUA states) of some LDs changed. */
  aluaChanged(ldNumbers: number[]): void;
  /** Some LDs changed size. */
  capacityChanged?(ldNumbers: number[]): void;
  /** Host entries or LUN mappings changed: initiators may see other LUNs. */
  lunsChanged?(): void;
  /** CHAP credentials changed: later logins use the new ones (sessions stay). */
  authChanged?(): void;
}

export class FrontEnds {
  private readonly hooks: FrontEndHooks[] = [];
  private readonly sessionSources: Array<() => OpenHandle[]> = [];
  private readonly accessListeners: Array<() => void> = [];
  /** The LD behind each device handed to a front end (to tell whose sessions hold an LD). */
  readonly deviceLds = new WeakMap<BlockDevice, LogicalDisk>();

  constructor(private readonly store: MetaStore) {}

  register(hooks: FrontEndHooks): void {
    this.hooks.push(hooks);
  }

  /** Front ends report the LD devices their clients hold (an LD's deletion asks them). */
  registerSessionSource(fn: () => OpenHandle[]): void {
    this.sessionSources.push(fn);
  }

  /** Calls `fn` after every change of who may use which LD (host entries, mappings, keys, plain NBD access). */
  onAccessChanged(fn: () => void): void {
    this.accessListeners.push(fn);
  }

  /** Who has the LD open on a front end now (NBD clients in transmission, iSCSI sessions that used its LU). */
  sessionsOf(l: LogicalDisk): string[] {
    const out = new Set<string>();
    for (const src of this.sessionSources) for (const h of src()) if (this.deviceLds.get(h.device) === l) out.add(h.holder);
    return [...out].sort();
  }

  /** Runs a change of host entries or mappings, then tells the front ends and the access listeners. */
  lunsChangedAfter<T>(fn: () => T): T {
    const r = fn();
    for (const f of this.hooks) f.lunsChanged?.();
    this.accessChanged();
    return r;
  }

  /** Runs a change of credentials, then tells the front ends and the access listeners. */
  authChangedAfter<T>(fn: () => T): T {
    const r = fn();
    for (const f of this.hooks) f.authChanged?.();
    this.accessChanged();
    return r;
  }

  accessChanged(): void {
    for (const f of this.accessListeners) f();
  }

  capacityChanged(ldNumbers: number[]): void {
    for (const f of this.hooks) f.capacityChanged?.(ldNumbers);
  }

  aluaChanged(ldNumbers: number[]): void {
    for (const f of this.hooks) f.aluaChanged(ldNumbers);
  }

  portDown(host: string, port: number): void {
    for (const f of this.hooks) f.portDown(host, port);
  }

  async portUp(host: string, port: number): Promise<void> {
    for (const f of this.hooks) await f.portUp(host, port);
  }

  /** Small durable state front ends keep (persistent reservations with APTPL). */
  getState(key: string): string | undefined {
    return this.store.getMeta(`fe/${key}`);
  }

  setState(key: string, value: string | undefined): void {
    if (value === undefined) this.store.deleteMeta(`fe/${key}`);
    else this.store.setMeta(`fe/${key}`, value);
  }
}
