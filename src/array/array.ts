// STUB: being replaced by the real implementation (owner: block/array engineer).
import type { ArrayAgent, ArrayEvent, ArrayInfo, CreateLdRequest, CreatePoolRequest, LdInfo, PoolInfo } from './agent.js';
import type { BlockDevice } from '../block/device.js';

export interface ExportEntry {
  name: string;
  description?: string;
}

/** What protocol front ends (NBD now, iSCSI later) see of the array. */
export interface ExportProvider {
  list(): ExportEntry[];
  open(name: string): BlockDevice | undefined;
}

export interface OpenArrayOptions {
  dataDir: string;
}

export class KuraArray implements ArrayAgent {
  static async open(_opts: OpenArrayOptions): Promise<KuraArray> {
    throw new Error('not implemented');
  }
  /** True when the data dir held no array before open(): serve creates the demo then. */
  readonly isNew: boolean = false;
  exports(): ExportProvider {
    throw new Error('not implemented');
  }
  /** Flushes everything and closes files. */
  async close(): Promise<void> {}
  info(): ArrayInfo {
    throw new Error('not implemented');
  }
  listPools(): PoolInfo[] {
    throw new Error('not implemented');
  }
  getPool(_ref: string | number): PoolInfo {
    throw new Error('not implemented');
  }
  async createPool(_req: CreatePoolRequest): Promise<PoolInfo> {
    throw new Error('not implemented');
  }
  async expandPool(_ref: string | number, _addBytes: number): Promise<PoolInfo> {
    throw new Error('not implemented');
  }
  async setPoolThreshold(_ref: string | number, _percent: number): Promise<PoolInfo> {
    throw new Error('not implemented');
  }
  async deletePool(_ref: string | number): Promise<void> {}
  listLds(): LdInfo[] {
    throw new Error('not implemented');
  }
  getLd(_ref: string | number): LdInfo {
    throw new Error('not implemented');
  }
  async createLd(_req: CreateLdRequest): Promise<LdInfo> {
    throw new Error('not implemented');
  }
  async expandLd(_ref: string | number, _newSize: number): Promise<LdInfo> {
    throw new Error('not implemented');
  }
  async deleteLd(_ref: string | number): Promise<void> {}
  onEvent(_listener: (e: ArrayEvent) => void): () => void {
    return () => {};
  }
}
