// One HTTP exchange for the CLI, over node:http(s) rather than fetch: fetch
// (undici, Node 20) never settles when a server accepts and closes the
// connection, so the command died with exit 13 and no message; and it
// resolves "." and ".." in the path. Here every outcome is an answer or a
// TransportError saying what happened to the connection, and the path is sent
// exactly as given.
import http from 'node:http';
import https from 'node:https';

export interface HttpAnswer {
  status: number;
  statusText: string;
  contentType: string;
  body: Buffer;
}

/** What went wrong on the wire: `kind` picks the message and id the caller shows. */
export class TransportError extends Error {
  constructor(
    readonly kind: 'unreachable' | 'closed' | 'timeout',
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

/** Error codes that mean the server was never reached (as opposed to a connection lost). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ETIMEDOUT']);

export interface HttpRequest {
  method: string;
  /** The server's base URL (scheme, host, port, optional path prefix). */
  base: URL;
  /** Path below the base, sent as is (no dot-segment resolution). */
  path: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export function httpExchange(r: HttpRequest): Promise<HttpAnswer> {
  const mod = r.base.protocol === 'https:' ? https : http;
  const prefix = r.base.pathname.replace(/\/+$/, '');
  const headers = { ...r.headers, ...(r.body !== undefined ? { 'content-length': String(Buffer.byteLength(r.body)) } : {}) };
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: TransportError) => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(e);
    };
    const req = mod.request(
      {
        protocol: r.base.protocol,
        hostname: r.base.hostname.replace(/^\[|\]$/g, ''),
        port: r.base.port || undefined,
        method: r.method,
        path: prefix + r.path,
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => fail(lost(e)));
        // 'aborted' without 'end': the server closed the connection half-way through its answer.
        res.on('close', () => {
          if (!res.complete) fail(lost(new Error('the answer was cut short')));
        });
        res.on('end', () => {
          if (settled || !res.complete) return;
          settled = true;
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks),
          });
        });
      },
    );
    req.setTimeout(r.timeoutMs, () => fail(new TransportError('timeout', `no answer within ${r.timeoutMs / 1000} s`)));
    req.on('error', (e: NodeJS.ErrnoException) => fail(e.code && UNREACHABLE.has(e.code) ? new TransportError('unreachable', e.message) : lost(e)));
    req.end(r.body);
  });
}

function lost(e: Error): TransportError {
  return new TransportError('closed', e.message);
}
