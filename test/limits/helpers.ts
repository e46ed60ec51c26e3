// Hostile clients for the resource-limit tests, and a watch on a server's
// memory: raw NBD connections that negotiate and then pipeline requests without
// reading a reply, iSCSI sessions that queue READs without reading Data-In,
// and an async runner for the real client tools (the event loop must keep
// running while they do: the RSS sampler and the flood sockets live on it).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { IscsiInitiator } from '../../src/iscsi/initiator.js';
import * as IP from '../../src/iscsi/pdu.js';
import * as P from '../../src/nbd/protocol.js';

export const MiB = 1 << 20;

/** Resident set of a process in MiB (VmRSS of /proc/PID/status). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/**
 * Samples a process's RSS every 200 ms; the highest value is kept. When it
 * passes `abortAbove`, onOver runs once (the test stops its floods rather than
 * letting an unbounded server eat the machine).
 */
export function watchRss(pid: number, abortAbove: number, onOver: () => void): { max(): number; stop(): void } {
  let max = 0;
  let over = false;
  const t = setInterval(() => {
    let v: number;
    try {
      v = rssMiB(pid);
    } catch {
      return;
    }
    max = Math.max(max, v);
    if (v > abortAbove && !over) {
      over = true;
      onOver();
    }
  }, 200);
  return { max: () => max, stop: () => clearInterval(t) };
}

/** An NBD connection negotiated (fixed newstyle, NBD_OPT_GO) to `exportName`, whose replies are never read. */
export async function nbdRawSession(port: number, exportName: string): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  const name = Buffer.from(exportName);
  const flags = Buffer.alloc(4);
  flags.writeUInt32BE(P.NBD_FLAG_C_FIXED_NEWSTYLE | P.NBD_FLAG_C_NO_ZEROES, 0);
  const opt = Buffer.alloc(16);
  opt.writeBigUInt64BE(P.IHAVEOPT, 0);
  opt.writeUInt32BE(P.NBD_OPT_GO, 8);
  opt.writeUInt32BE(4 + name.length + 2, 12);
  const data = Buffer.alloc(4 + name.length + 2);
  data.writeUInt32BE(name.length, 0);
  name.copy(data, 4);
  // Wait for the negotiation answer (the ACK of GO) so the requests below land in transmission.
  let got = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('NBD negotiation did not finish')), 10_000);
    const onData = (d: Buffer): void => {
      got = Buffer.concat([got, d]);
      // greeting (18) + replies; the last one is the ACK (20 bytes, type 1).
      if (got.length >= 18 + 20 && got.readUInt32BE(got.length - 8) === P.NBD_REP_ACK) {
        clearTimeout(timer);
        s.off('data', onData);
        resolve();
      }
    };
    s.on('data', onData);
    s.write(Buffer.concat([flags, opt, data]));
  });
  // From here on nothing is read: the replies pile up on the server's side.
  s.pause();
  return s;
}

export function nbdRequest(type: number, handle: number, offset: number, length: number): Buffer {
  const h = Buffer.alloc(28);
  h.writeUInt32BE(P.NBD_REQUEST_MAGIC, 0);
  h.writeUInt16BE(type, 6);
  h.writeUInt32BE(handle, 12);
  h.writeBigUInt64BE(BigInt(offset), 16);
  h.writeUInt32BE(length, 24);
  return h;
}

/** An iSCSI session that stops reading after login. */
export async function iscsiLogin(port: number, iqn: string, initiatorName: string): Promise<IscsiInitiator> {
  const ini = await IscsiInitiator.connect('127.0.0.1', port);
  const r = await ini.login({ initiatorName, targetName: iqn });
  if (r.status !== 0) throw new Error(`flood login failed: status ${r.status}`);
  ini.sock.on('error', () => undefined);
  ini.sock.pause();
  ini.sock.removeAllListeners('data');
  return ini;
}

/** Queues `count` READ(10) of `blocks` blocks each on a session that does not read. */
export function iscsiReadFlood(ini: IscsiInitiator, count: number, blocks: number): void {
  const pdus: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const h = IP.initiatorHeader(IP.OP_SCSI_COMMAND, IP.FLAG_FINAL | IP.CMD_READ | 1, 0, false);
    h.writeUInt32BE(ini.nextItt(), 16);
    h.writeUInt32BE(blocks * 512, 20);
    h.writeUInt32BE(ini.cmdSN, 24);
    ini.cmdSN = IP.snAdd(ini.cmdSN, 1);
    const lba = (i % 16) * blocks;
    Buffer.from([0x28, 0, (lba >>> 24) & 0xff, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff, 0, (blocks >> 8) & 0xff, blocks & 0xff, 0]).copy(h, 32);
    pdus.push(h);
  }
  ini.sock.write(Buffer.concat(pdus));
}

/** Runs a tool without blocking the event loop. */
export function runAsync(cmd: string, args: string[], timeoutMs = 60_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', (e) => {
      clearTimeout(t);
      resolve({ status: null, stdout, stderr: stderr + String(e) });
    });
    p.on('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
