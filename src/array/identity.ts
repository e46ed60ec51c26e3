// The array's identity: serial and name, made on first open and kept in the
// store's metadata, and the WWN derived from the serial.
import crypto from 'node:crypto';
import type { MetaStore } from '../block/meta-store.js';

export interface ArrayIdentity {
  readonly serial: string;
  readonly name: string;
  /** True when this open made the identity (a new data directory). */
  readonly isNew: boolean;
}

/** Reads the identity from the store, or makes and stores one for a new array. */
export function loadIdentity(store: Pick<MetaStore, 'getMeta' | 'setMeta'>): ArrayIdentity {
  const stored = store.getMeta('array_serial');
  const serial = stored ?? crypto.randomBytes(6).toString('hex');
  if (stored === undefined) {
    store.setMeta('array_serial', serial);
    store.setMeta('array_name', `kura-${serial.slice(0, 6)}`);
  }
  return { serial, name: store.getMeta('array_name') ?? `kura-${serial.slice(0, 6)}`, isNew: stored === undefined };
}

/** The array's WWN, 16 hex digits from its serial: the VVOL provider makes VVOL, PE and container ids from it. */
export function wwnOf(serial: string): string {
  return `2000${serial
    .toLowerCase()
    .replace(/[^0-9a-f]/g, '0')
    .padStart(12, '0')
    .slice(-12)}`;
}
