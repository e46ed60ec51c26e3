// The array agent contract on the wire: every method of every noun of ArrayAgent
// (but the events slice, which is a stream of its own) with whether the embedded contract answers it
// synchronously and whether it changes the array. Changing calls must carry a
// fencing token; the compiler refuses a table that misses a method.
import type { ArrayAgent } from '../agent.js';

/** A noun of the contract (its `events` slice is a stream of its own, not calls). */
export type AgentNoun = Exclude<keyof ArrayAgent, 'events' | 'info' | 'ioStats'>;

export interface MethodWire {
  /** The contract returns the value itself, not a promise. */
  sync: boolean;
  /** The call changes the array: it needs a fencing token. */
  changes: boolean;
}

const read = { sync: true, changes: false } as const;
const change = { sync: false, changes: true } as const;
const syncChange = { sync: true, changes: true } as const;

/** Every method of every noun; on the wire a call names "noun.method" (info alone is "info"). */
export const AGENT_METHODS: { [N in AgentNoun]: Record<keyof ArrayAgent[N], MethodWire> } = {
  pools: {
    listPools: read,
    getPool: read,
    createPool: change,
    expandPool: change,
    setPoolThreshold: change,
    deletePool: change,
  },
  lds: {
    listLds: read,
    getLd: read,
    createLd: change,
    expandLd: change,
    deleteLd: change,
  },
  snapshots: {
    listSnapshots: read,
    createSnapshot: change,
    restoreSnapshot: change,
    setSnapshotAccess: change,
    deleteSnapshot: change,
    deleteOldestSnapshots: change,
  },
  clones: {
    createClone: change,
  },
  qos: {
    setQos: change,
    setPoolQosDefaults: change,
    setPoolQosMode: change,
  },
  licenses: {
    listLicenses: read,
    unlockLicense: change,
  },
  hosts: {
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
  },
  target: {
    targetInfo: read,
    setTargetChap: change,
    clearTargetChap: change,
  },
  controllers: {
    listControllers: read,
    setControllerState: change,
    setPortState: change,
  },
  pairs: {
    listPairs: read,
    getPair: read,
    createPair: change,
    replicatePair: change,
    separatePair: change,
    restorePair: change,
    deletePair: change,
  },
  lock: {
    lockInfo: read,
    acquireLock: syncChange,
    releaseLock: syncChange,
    checkLock: read,
  },
  vvols: {
    createVvolLd: change,
    tagVvolLd: change,
    allocatedBitmap: read,
    unsharedBitmap: read,
    bindSubsidiary: syncChange,
    unbindSubsidiary: syncChange,
    subsidiaries: read,
  },
};

export const INFO_WIRE: MethodWire = read;

/** "noun.method", "info" or "ioStats" → its wire description, or undefined for anything else. */
export function wireOf(name: string): { noun: AgentNoun | null; method: string; wire: MethodWire } | undefined {
  // The two calls of the contract that belong to no noun.
  if (name === 'info' || name === 'ioStats') return { noun: null, method: name, wire: INFO_WIRE };
  const [noun, method, ...rest] = name.split('.');
  if (rest.length > 0 || noun === undefined || method === undefined || !Object.hasOwn(AGENT_METHODS, noun)) return undefined;
  const table = AGENT_METHODS[noun as AgentNoun] as Record<string, MethodWire>;
  if (!Object.hasOwn(table, method)) return undefined;
  return { noun: noun as AgentNoun, method, wire: table[method]! };
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
