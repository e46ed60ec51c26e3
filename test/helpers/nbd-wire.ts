// A byte-level NBD negotiation client for tests: options and their replies,
// STARTTLS with Node's TLS client and a pre-shared key, and GO into
// transmission, over a socket whose fate (answered or closed) tests observe.
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import * as P from '../../src/nbd/protocol.js';

/** Reads exact byte counts from whichever socket carries the session now. */
export class Wire {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  closed = false;
  sock: net.Socket;
  private readonly onData = (d: Buffer) => {
    this.buf = Buffer.concat([this.buf, d]);
    this.waiter?.();
  };
  private readonly onEnd = () => {
    this.closed = true;
    this.waiter?.();
  };

  constructor(sock: net.Socket) {
    this.sock = sock;
    this.attach(sock);
  }

  private attach(s: net.Socket): void {
    s.on('data', this.onData);
    s.on('close', this.onEnd);
    s.on('error', this.onEnd);
  }

  async read(n: number): Promise<Buffer | null> {
    while (this.buf.length < n) {
      if (this.closed) return null;
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = null;
    }
    const b = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return b;
  }

  async upgrade(identity: string, key: Buffer): Promise<void> {
    this.sock.off('data', this.onData);
    this.sock.off('close', this.onEnd);
    this.sock.off('error', this.onEnd);
    const t = tls.connect({ socket: this.sock, pskCallback: () => ({ identity, psk: key }), checkServerIdentity: () => undefined });
    this.attach(t);
    this.sock = t;
    await new Promise<void>((resolve, reject) => {
      t.once('secureConnect', () => resolve());
      t.once('error', reject);
    });
  }
}

export async function openWire(port: number): Promise<Wire> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => sock.once('connect', () => r()).once('error', j));
  const w = new Wire(sock);
  const hello = (await w.read(18))!;
  assert.equal(hello.readBigUInt64BE(0), P.NBDMAGIC);
  sock.write(Buffer.from([0, 0, 0, P.NBD_FLAG_C_FIXED_NEWSTYLE | P.NBD_FLAG_C_NO_ZEROES]));
  return w;
}

export function option(opt: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(16);
  h.writeBigUInt64BE(P.IHAVEOPT, 0);
  h.writeUInt32BE(opt, 8);
  h.writeUInt32BE(data.length, 12);
  return Buffer.concat([h, data]);
}

/** Sends an option and collects replies up to the final one (ACK or an error). */
export async function ask(w: Wire, opt: number, data?: Buffer): Promise<{ types: number[]; last: number; text: string; payloads: Buffer[] } | null> {
  w.sock.write(option(opt, data));
  const types: number[] = [];
  const payloads: Buffer[] = [];
  for (;;) {
    const h = await w.read(20);
    if (!h) return null;
    const type = h.readUInt32BE(12);
    const body = (await w.read(h.readUInt32BE(16)))!;
    types.push(type);
    payloads.push(body);
    if (type !== P.NBD_REP_SERVER && type !== P.NBD_REP_INFO && type !== P.NBD_REP_META_CONTEXT) return { types, last: type, text: body.toString(), payloads };
  }
}

export function names(r: { payloads: Buffer[]; types: number[] }): string[] {
  return r.payloads.filter((_p, i) => r.types[i] === P.NBD_REP_SERVER).map((p) => p.subarray(4, 4 + p.readUInt32BE(0)).toString());
}

export function metaQuery(name: string): Buffer {
  const q = Buffer.from(P.BASE_ALLOCATION);
  const b = Buffer.alloc(4 + name.length + 4 + 4 + q.length);
  b.writeUInt32BE(name.length, 0);
  b.write(name, 4);
  b.writeUInt32BE(1, 4 + name.length);
  b.writeUInt32BE(q.length, 8 + name.length);
  q.copy(b, 12 + name.length);
  return b;
}

/** NBD_OPT_GO for an export: true when the server entered transmission. */
export async function go(w: Wire, name: string): Promise<boolean> {
  const b = Buffer.alloc(4 + Buffer.byteLength(name) + 2);
  b.writeUInt32BE(Buffer.byteLength(name), 0);
  b.write(name, 4);
  const r = await ask(w, P.NBD_OPT_GO, b);
  return r?.last === P.NBD_REP_ACK;
}

/** A simple READ in transmission (no structured replies negotiated): the error number, or null when the connection closed. */
export async function readAt(w: Wire, offset: number, length: number): Promise<number | null> {
  const h = Buffer.alloc(28);
  h.writeUInt32BE(P.NBD_REQUEST_MAGIC, 0);
  h.writeUInt16BE(P.NBD_CMD_READ, 6);
  h.writeUInt32BE(7, 12);
  h.writeUInt32BE(Math.floor(offset / 2 ** 32), 16);
  h.writeUInt32BE(offset >>> 0, 20);
  h.writeUInt32BE(length, 24);
  w.sock.write(h);
  const r = await w.read(16);
  if (!r) return null;
  const err = r.readUInt32BE(4);
  if (err === 0 && !(await w.read(length))) return null;
  return err;
}
