// The one hardened setup of every HTTP listener Kura opens (the manager's API,
// the HA front of `kura manager`, the array agent of `kura array`): a new
// connection must send its request head within the idle limit (slowloris), a
// request must arrive whole within its own limit, idle sockets are swept
// often, connections over the cap are closed on accept, a request Node's
// parser refuses is answered 400/408/431 with an id (the process lives on),
// and bodies are read up to a limit (413 with an id, the connection closed).
import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { asKuraError, INTERNAL_ERROR } from '../errors.js';
import type { EventDef } from '../errors.js';
import type { CapReport } from '../catalogue/protocols.js';
import { BODY_TOO_LARGE, REQUEST_NOT_HTTP } from '../catalogue/manager.js';
import { ConnectionCap } from './conn-cap.js';

export interface HardenOptions {
  /** Listener name for the cap's log line, e.g. "API listener". */
  what: string;
  /** Connections open at once; more are closed on accept. */
  maxConnections: number;
  /** A new connection must send its request head within this long. */
  idleTimeoutMs: number;
  /** A request must arrive whole within this long (default four times the idle limit). */
  requestTimeoutMs?: number;
  /** A kept-alive connection between requests. */
  keepAliveMs: number;
  /** The catalogue's line for the cap (each listener family has its own id). */
  capReport: EventDef<CapReport>;
  /** The option that raises the cap, named in the log line. */
  option: string;
  log: (msg: string) => void;
}

/** Applies the limits to a server not yet listening; returns its connection cap. */
export function hardenHttpServer(server: http.Server, o: HardenOptions): ConnectionCap {
  server.headersTimeout = o.idleTimeoutMs;
  server.requestTimeout = Math.max(o.idleTimeoutMs, o.requestTimeoutMs ?? o.idleTimeoutMs * 4);
  server.keepAliveTimeout = o.keepAliveMs;
  // Read when the server starts listening: idle sockets are found by a sweep this
  // often (Node's default, 30 s, would let them overstay the limit).
  (server as http.Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(100, Math.min(1000, o.idleTimeoutMs / 4));
  server.on('clientError', answerClientError);
  const cap = new ConnectionCap(o.what, o.maxConnections, o.log, o.capReport, o.option);
  server.on('connection', (sock: net.Socket) => {
    if (!cap.admit()) {
      sock.destroy();
      return;
    }
    sock.once('close', () => cap.release());
  });
  return cap;
}

/**
 * A request Node's HTTP parser refused (bytes a request target may not hold,
 * a broken header, headers too large, a head not sent in time) never reaches
 * the handler; Node's own answer is a bare 400 without a body. This one
 * carries an id like every other error, then closes the connection (the
 * stream cannot be trusted).
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  // The status line below carries the status; the body is the catalogue's error.
  const e = REQUEST_NOT_HTTP({ reason: err.code ?? err.message });
  const body = JSON.stringify({ error: e.toJSON() }, null, 2);
  // The answer to a HEAD has no body (the client would read it as a second answer).
  const raw = (err as { rawPacket?: Buffer }).rawPacket;
  const head = raw !== undefined && raw.subarray(0, 5).toString('latin1') === 'HEAD ';
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${head ? '' : body}`,
  );
}

/**
 * The answer of every listener whose handler failed: the error with its id as
 * JSON under its HTTP status, an unexpected one logged with its stack. What
 * the handler did not read of the body is discarded; a 413 closes the
 * connection (the client is still sending); once an answer has begun the
 * socket is cut, since a second one cannot follow it.
 */
export function answerHandlerError(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  e: unknown,
  o: { log: (m: string) => void; what: string; headers?: Record<string, string> },
): void {
  const err = asKuraError(e);
  if (err.id === INTERNAL_ERROR.id) o.log(`${o.what}: ${req.method} ${req.url}: ${(e as Error)?.stack ?? e}`);
  req.resume();
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [k, v] of Object.entries(o.headers ?? {})) res.setHeader(k, v);
  if (err.httpStatus === 413) res.setHeader('connection', 'close');
  const body = JSON.stringify({ error: err.toJSON() }, null, 2);
  res.writeHead(err.httpStatus, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Reads a request body of at most `max` bytes. Over it: refused with
 * KURA-E4003 (413) without buffering more; the rest is discarded and the
 * answer closes the connection.
 */
export function readBodyCapped(req: http.IncomingMessage, res: http.ServerResponse, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    const refuse = () => {
      req.removeAllListeners('data');
      req.resume();
      if (!res.headersSent) res.setHeader('connection', 'close');
      reject(BODY_TOO_LARGE({ maxBody: max }));
    };
    // A declared length over the limit is refused before a byte is read.
    if (declared > max) return refuse();
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) return refuse();
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
