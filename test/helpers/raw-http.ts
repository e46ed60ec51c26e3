// HTTP requests with the request target sent byte for byte. fetch and URL
// resolve "." and ".." segments (even %2e%2e) before sending, so a test of
// what the server does with them must go through node:http with the raw path.
import http from 'node:http';

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The parsed body, when it is JSON. */
  json?: unknown;
  /** The error object of an error reply ({ error: { id, code, message, action } }). */
  error?: { id: string; code: string; message: string; action: string };
}

export interface RawRequest {
  method: string;
  /** The request target exactly as sent, e.g. /api/v1/lds/v/snapshots/%2e%2e. */
  path: string;
  token?: string;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Keep-alive agent to reuse connections (fuzzing); a fresh connection when absent. */
  agent?: http.Agent;
}

export function rawRequest(baseUrl: string, r: RawRequest): Promise<RawReply> {
  const u = new URL(baseUrl);
  const payload = r.body === undefined ? undefined : typeof r.body === 'string' || Buffer.isBuffer(r.body) ? r.body : JSON.stringify(r.body);
  const headers: Record<string, string> = {
    ...(r.token ? { authorization: `Bearer ${r.token}` } : {}),
    ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
    ...r.headers,
  };
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: Number(u.port), method: r.method, path: r.path, headers, agent: r.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        const error = (json as { error?: RawReply['error'] } | undefined)?.error;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, error });
      });
    });
    req.setTimeout(r.timeoutMs ?? 30_000, () => req.destroy(new Error(`${r.method} ${r.path}: no answer within ${r.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
