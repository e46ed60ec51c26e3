// The simulator's own data I/O (the VMX file at power-on, the memory image of
// a snapshot) goes where an ESXi host's goes: to the multipath device of the
// bound VVOL, here pathd's NBD export of it.
import crypto from 'node:crypto';
import { NbdClient } from '../nbd/client.js';

/** Bytes of guest memory the simulator writes into a memory VVOL (the rest of the VVOL stays unwritten, thin). */
export const MEMORY_IMAGE_BYTES = 1 << 20;

function parseNbdUri(uri: string): { host: string; port: number; exportName: string } {
  const m = /^nbd:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/(.+)$/.exec(uri);
  if (!m) throw new Error(`not an nbd://HOST:PORT/NAME URI: ${uri}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]), exportName: decodeURIComponent(m[3]!) };
}

/** Writes `data` at `offset` of an NBD export and flushes. */
export async function writeExport(uri: string, offset: number, data: Buffer): Promise<void> {
  const c = await NbdClient.connect(parseNbdUri(uri));
  try {
    const piece = 4 << 20;
    for (let o = 0; o < data.length; o += piece) await c.write(offset + o, data.subarray(o, Math.min(o + piece, data.length)));
    await c.flush();
  } finally {
    await c.disconnect();
  }
}

/** Reads `length` bytes at `offset` of an NBD export. */
export async function readExport(uri: string, offset: number, length: number): Promise<Buffer> {
  const c = await NbdClient.connect(parseNbdUri(uri));
  try {
    const parts: Buffer[] = [];
    const piece = 4 << 20;
    for (let o = 0; o < length; o += piece) parts.push(await c.read(offset + o, Math.min(piece, length - o)));
    return Buffer.concat(parts);
  } finally {
    await c.disconnect();
  }
}

/** The VMX file of a VM, padded to whole 4 KiB blocks. */
export function vmxFile(f: { name: string; id: string; datacenter: string; memory: number; disks: string[]; host: string }): Buffer {
  const lines = [
    '.encoding = "UTF-8"',
    'config.version = "8"',
    `displayName = "${f.name}"`,
    `vc.uuid = "${f.id}"`,
    `annotation = "datacenter ${f.datacenter}, powered on at host ${f.host}"`,
    `memSize = "${Math.floor(f.memory / 2 ** 20)}"`,
    ...f.disks.map((d, i) => `scsi0:${i}.fileName = "${d}"`),
  ];
  const text = Buffer.from(lines.join('\n') + '\n');
  const out = Buffer.alloc(Math.ceil(text.length / 4096) * 4096);
  text.copy(out);
  return out;
}

/** The guest memory image a snapshot of a VM saves: a function of the VM and the snapshot, so it can be checked later. */
export function memoryImage(vmId: string, snapshot: string): Buffer {
  const key = crypto.createHash('sha256').update(`${vmId}/${snapshot}`).digest();
  const c = crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(MEMORY_IMAGE_BYTES)), c.final()]);
}
