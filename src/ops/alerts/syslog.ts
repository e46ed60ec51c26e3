// Syslog (RFC 5424) over UDP (RFC 5426: one message per datagram) and TCP
// (RFC 6587 octet counting: "LEN SP MSG", so a newline inside an event's text
// can never be read as the start of a second, forged message).
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import type { Severity } from '../../array/agent.js';
import type { AlertEvent } from './rules.js';

/** The IANA private enterprise number in structured-data ids and the MIB (see docs/operations.md). */
export const KURA_ENTERPRISE = 32473;
/** Facility local0 (16): arrays' messages are told apart from the host's own daemons. */
const FACILITY = 16;
const SYSLOG_SEVERITY: Record<Severity, number> = { error: 3, warning: 4, info: 6 };
/** RFC 5426 section 3.2: receivers should take 2048 bytes; longer texts are cut. */
const MAX_UDP = 2048;
const TIMEOUT_MS = 5000;

/** PRINTUSASCII without spaces (RFC 5424 header fields), at most `max` characters, "-" when empty. */
function headerField(s: string, max: number): string {
  const v = s.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return v === '' ? '-' : v;
}

/** An SD-PARAM value: '"', '\' and ']' escaped (RFC 5424 section 6.3.3). */
function sdValue(s: string): string {
  return s.replace(/[\\"\]]/g, (c) => '\\' + c).replace(/[\r\n]/g, ' ');
}

export function formatSyslog(e: AlertEvent, opts: { arrayName: string; hostname?: string; maxBytes?: number }): Buffer {
  const pri = FACILITY * 8 + SYSLOG_SEVERITY[e.severity];
  const host = headerField(opts.hostname ?? os.hostname(), 255);
  const sd = `[kura@${KURA_ENTERPRISE} array="${sdValue(opts.arrayName)}" source="${sdValue(e.source)}" severity="${e.severity}"${e.seq !== undefined ? ` seq="${e.seq}"` : ''}]`;
  const head = `<${pri}>1 ${e.time} ${host} kura ${process.pid} ${headerField(e.id, 32)} ${sd} `;
  // MSG: UTF-8 with its BOM (section 6.4); line breaks become spaces for receivers that split on them.
  let text = e.text.replace(/[\r\n]+/g, ' ');
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  let msg = Buffer.concat([Buffer.from(head, 'utf8'), bom, Buffer.from(text, 'utf8')]);
  const max = opts.maxBytes;
  while (max !== undefined && msg.length > max && text.length > 0) {
    text = text.slice(0, Math.max(0, text.length - Math.max(1, msg.length - max)));
    msg = Buffer.concat([Buffer.from(head, 'utf8'), bom, Buffer.from(text, 'utf8')]);
  }
  return msg;
}

export function sendSyslogUdp(host: string, port: number, msg: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error('the datagram was not sent within 5 s'));
    }, TIMEOUT_MS);
    sock.once('error', (e) => {
      clearTimeout(timer);
      sock.close();
      reject(e);
    });
    sock.send(msg.subarray(0, MAX_UDP), port, host, (err) => {
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve();
    });
  });
}

export function sendSyslogTcp(host: string, port: number, msg: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    sock.setTimeout(TIMEOUT_MS, () => sock.destroy(new Error('the receiver did not take the message within 5 s')));
    sock.once('error', reject);
    sock.once('connect', () => {
      sock.end(Buffer.concat([Buffer.from(`${msg.length} `, 'ascii'), msg]));
    });
    sock.once('close', (hadError) => {
      if (!hadError) resolve();
    });
    // Anything a receiver sends back is ignored (and not buffered).
    sock.on('data', () => undefined);
  });
}

export function sendSyslog(target: { host: string; port: number }, transport: 'udp' | 'tcp', e: AlertEvent, arrayName: string): Promise<void> {
  if (transport === 'udp') return sendSyslogUdp(target.host, target.port, formatSyslog(e, { arrayName, maxBytes: MAX_UDP }));
  return sendSyslogTcp(target.host, target.port, formatSyslog(e, { arrayName }));
}
