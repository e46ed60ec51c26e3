// The array agent contract on the wire: every method of ArrayAgent (but onEvent,
// which is a stream of its own) with whether the embedded contract answers it
// synchronously and whether it changes the array. Changing calls must carry a
// fencing token; the compiler refuses a table that misses a method.
import type { ArrayAgent } from '../agent.js';

export type AgentMethod = Exclude<keyof ArrayAgent, 'onEvent'>;

export interface MethodWire {
  /** The contract returns the value itself, not a promise. */
  sync: boolean;
  /** The call changes the array: it needs a fencing token. */
  changes: boolean;
}

const read = { sync: true, changes: false } as const;
const change = { sync: false, changes: true } as const;
const syncChange = { sync: true, changes: true } as const;

export const AGENT_METHODS: Record<AgentMethod, MethodWire> = {
  info: read,
  listPools: read,
  getPool: read,
  createPool: change,
  expandPool: change,
  setPoolThreshold: change,
  deletePool: change,
  listLds: read,
  getLd: read,
  createLd: change,
  expandLd: change,
  deleteLd: change,
  listSnapshots: read,
  createSnapshot: change,
  restoreSnapshot: change,
  setSnapshotAccess: change,
  deleteSnapshot: change,
  deleteOldestSnapshots: change,
  createClone: change,
  setQos: change,
  setPoolQosDefaults: change,
  setPoolQosMode: change,
  listLicenses: read,
  unlockLicense: change,
  listHosts: read,
  createHost: change,
  deleteHost: change,
  addInitiator: change,
  removeInitiator: change,
  mapLun: change,
  unmapLun: change,
  accessControl: read,
  setAccessControl: change,
  setHostChap: change,
  clearHostChap: change,
  setHostNbdPsk: change,
  clearHostNbdPsk: change,
  setLdNbdPlain: change,
  targetInfo: read,
  setTargetChap: change,
  clearTargetChap: change,
  listControllers: read,
  setControllerState: change,
  setPortState: change,
  listPairs: read,
  getPair: read,
  createPair: change,
  replicatePair: change,
  separatePair: change,
  restorePair: change,
  deletePair: change,
  lockInfo: read,
  acquireLock: syncChange,
  releaseLock: syncChange,
  checkLock: read,
  createVvolLd: change,
  tagVvolLd: change,
  allocatedBitmap: read,
  unsharedBitmap: read,
  bindSubsidiary: syncChange,
  unbindSubsidiary: syncChange,
  subsidiaries: read,
};

export function isAgentMethod(name: string): name is AgentMethod {
  return Object.hasOwn(AGENT_METHODS, name);
}

/** The header a changing call carries its fencing token in: "ROLE:TOKEN". */
export const FENCING_HEADER = 'x-kura-fencing';

/** JSON with Buffers (the VVOL bitmaps) kept as Buffers: Buffer.toJSON's shape turned back. */
export function reviveWire(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object') {
    const v = value as { type?: unknown; data?: unknown };
    if (v.type === 'Buffer' && Array.isArray(v.data)) return Buffer.from(v.data as number[]);
  }
  return value;
}
