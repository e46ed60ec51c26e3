// The shared-disk resource: a multipath device of the node's `kura pathd`,
// reserved with SCSI-3 persistent reservations (Write Exclusive - Registrants
// Only). The node taking a group registers its key, then PREEMPTs the holder's
// key and every other registered key: the array refuses those nodes' writes
// with RESERVATION CONFLICT from then on, whatever they still try (fencing).
export interface PrReservation {
  key: bigint;
  type: string;
}

/** The calls the resource needs from pathd's control API (POST /api/v1/persist). */
export class PathdPersist {
  constructor(readonly url: string) {}

  private async call(device: string, action: string, extra: Record<string, string> = {}): Promise<unknown> {
    const res = await fetch(`${this.url}/api/v1/persist`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ device, action, ...extra }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json().catch(() => ({}))) as { error?: { id?: string; message?: string } };
    if (!res.ok) throw new Error(`${body.error?.id ?? res.status}: ${body.error?.message ?? res.statusText}`);
    return body;
  }

  register(device: string, key: bigint): Promise<unknown> {
    return this.call(device, 'register', { key: hex(key) });
  }
  unregister(device: string): Promise<unknown> {
    return this.call(device, 'unregister');
  }
  reserve(device: string, key: bigint): Promise<unknown> {
    return this.call(device, 'reserve', { key: hex(key) });
  }
  release(device: string, key: bigint): Promise<unknown> {
    return this.call(device, 'release', { key: hex(key) });
  }
  preempt(device: string, key: bigint, victim: bigint): Promise<unknown> {
    return this.call(device, 'preempt', { key: hex(key), saKey: hex(victim) });
  }
  async keys(device: string): Promise<bigint[]> {
    const r = (await this.call(device, 'read-keys')) as { keys?: string[] };
    return (r.keys ?? []).map((k) => BigInt(k));
  }
  async reservation(device: string): Promise<PrReservation | undefined> {
    const r = (await this.call(device, 'read-reservation')) as { reservation?: { key: string; type: string } | null };
    return r.reservation ? { key: BigInt(r.reservation.key), type: r.reservation.type } : undefined;
  }
}

export function hex(k: bigint): string {
  return `0x${k.toString(16)}`;
}

/**
 * Makes `key` the only registrant and the holder: register, reserve (or preempt
 * the holder), then preempt every other key. Returns the keys it fenced.
 */
export async function takeDisk(pr: PathdPersist, device: string, key: bigint): Promise<bigint[]> {
  await pr.register(device, key);
  const fenced: bigint[] = [];
  const held = await pr.reservation(device);
  if (!held) await pr.reserve(device, key);
  else if (held.key !== key) {
    await pr.preempt(device, key, held.key);
    fenced.push(held.key);
  }
  for (const k of await pr.keys(device)) {
    if (k === key || fenced.includes(k)) continue;
    await pr.preempt(device, key, k);
    fenced.push(k);
  }
  return fenced;
}

/** Releases the reservation and unregisters (a clean stop); pathd forgets the key even when no path is left. */
export async function giveDisk(pr: PathdPersist, device: string, key: bigint): Promise<void> {
  try {
    const held = await pr.reservation(device);
    if (held && held.key === key) await pr.release(device, key);
  } finally {
    await pr.unregister(device);
  }
}
