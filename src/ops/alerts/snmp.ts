// SNMP v2c traps (RFC 3416 SNMPv2-Trap-PDU in an RFC 1901 community message),
// BER-encoded by hand: a trap is a handful of TLVs, not worth a library. The
// objects and the notification are those of KURA-MIB (mibs/KURA-MIB.txt).
import dgram from 'node:dgram';
import net from 'node:net';
import type { Severity } from '../../array/agent.js';
import type { AlertEvent } from './rules.js';
import { KURA_ENTERPRISE } from './syslog.js';

/** KURA-MIB's root: enterprises.32473.1 (see docs/operations.md on the enterprise number). */
export const KURA_MIB_OID = `1.3.6.1.4.1.${KURA_ENTERPRISE}.1`;
/** kuraEventNotification: the one notification, sent for every event an alert forwards. */
export const KURA_EVENT_NOTIFICATION = `${KURA_MIB_OID}.0.1`;
const EVENT = `${KURA_MIB_OID}.1.1`;
/** The notification's objects (kuraEvent.N), each sent as instance .0. */
export const KURA_OBJECTS = {
  kuraEventId: `${EVENT}.1`,
  kuraEventSeverity: `${EVENT}.2`,
  kuraEventText: `${EVENT}.3`,
  kuraEventSource: `${EVENT}.4`,
  kuraEventTime: `${EVENT}.5`,
  kuraEventSeq: `${EVENT}.6`,
  kuraArrayName: `${EVENT}.7`,
} as const;
const SYS_UPTIME_0 = '1.3.6.1.2.1.1.3.0';
const SNMP_TRAP_OID_0 = '1.3.6.1.6.3.1.1.4.1.0';
const SEVERITY_VALUE: Record<Severity, number> = { info: 1, warning: 2, error: 3 };
/** DisplayString is at most 255 octets. */
const MAX_STRING = 255;
const TIMEOUT_MS = 5000;

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content]);
}

/** A signed INTEGER (two's complement, fewest octets). */
function integer(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (!((v === 0 && (bytes[0]! & 0x80) === 0) || (v === -1 && (bytes[0]! & 0x80) !== 0)));
  return tlv(0x02, Buffer.from(bytes));
}

/** An unsigned 32-bit value under an application tag (TimeTicks 0x43, Unsigned32/Gauge32 0x42). */
function unsigned(tag: number, n: number): Buffer {
  const v = n >>> 0;
  const bytes: number[] = [];
  let x = v;
  do {
    bytes.unshift(x & 0xff);
    x = Math.floor(x / 256);
  } while (x > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(tag, Buffer.from(bytes));
}

function octets(s: string): Buffer {
  let b = Buffer.from(s, 'utf8');
  if (b.length > MAX_STRING) b = b.subarray(0, MAX_STRING);
  return tlv(0x04, b);
}

export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const enc: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) enc.unshift((v & 0x7f) | 0x80);
    out.push(...enc);
  }
  return tlv(0x06, Buffer.from(out));
}

const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const varbind = (name: string, value: Buffer) => seq(oid(name), value);

let requestId = Math.floor(Math.random() * 0x7fffffff);

/** The trap message for one event. */
export function encodeTrap(e: AlertEvent, opts: { community: string; arrayName: string; uptimeSeconds?: number }): Buffer {
  requestId = (requestId + 1) & 0x7fffffff;
  const uptime = Math.floor((opts.uptimeSeconds ?? process.uptime()) * 100);
  const binds = [
    varbind(SYS_UPTIME_0, unsigned(0x43, uptime)),
    varbind(SNMP_TRAP_OID_0, oid(KURA_EVENT_NOTIFICATION)),
    varbind(`${KURA_OBJECTS.kuraEventId}.0`, octets(e.id)),
    varbind(`${KURA_OBJECTS.kuraEventSeverity}.0`, integer(SEVERITY_VALUE[e.severity])),
    varbind(`${KURA_OBJECTS.kuraEventText}.0`, octets(e.text)),
    varbind(`${KURA_OBJECTS.kuraEventSource}.0`, octets(e.source)),
    varbind(`${KURA_OBJECTS.kuraEventTime}.0`, octets(e.time)),
    varbind(`${KURA_OBJECTS.kuraEventSeq}.0`, unsigned(0x42, e.seq ?? 0)),
    varbind(`${KURA_OBJECTS.kuraArrayName}.0`, octets(opts.arrayName)),
  ];
  const pdu = tlv(0xa7, Buffer.concat([integer(requestId), integer(0), integer(0), seq(...binds)]));
  return seq(integer(1), octets(opts.community), pdu);
}

export function sendTrap(target: { host: string; port: number }, msg: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(net.isIPv6(target.host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error('the trap was not sent within 5 s'));
    }, TIMEOUT_MS);
    sock.once('error', (err) => {
      clearTimeout(timer);
      sock.close();
      reject(err);
    });
    sock.send(msg, target.port, target.host, (err) => {
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve();
    });
  });
}
