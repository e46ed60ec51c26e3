// The CLI's REST client: the only way the kura command reaches an array.
import fs from 'node:fs';
import path from 'node:path';
import { KuraError } from '../errors.js';

export interface ClientOptions {
  url?: string;
  token?: string;
}

export class ApiClient {
  readonly url: string;
  private readonly token: string | undefined;

  constructor(opts: ClientOptions) {
    this.url = (opts.url ?? process.env['KURA_URL'] ?? 'http://127.0.0.1:9940').replace(/\/+$/, '');
    this.token = opts.token ?? process.env['KURA_TOKEN'] ?? readDefaultToken();
  }

  async call<T = unknown>(method: string, route: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.url}/api/v1${route}`, {
        method,
        headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new KuraError('KURA-E5010', 'EIO', `Cannot reach the Kura API at ${this.url}: ${(e as Error).cause ? String((e as { cause: Error }).cause.message) : (e as Error).message}.`, 'Start it with kura serve, or point --url / KURA_URL at it.');
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new KuraError('KURA-E5011', 'EIO', `The API at ${this.url} answered ${res.status} with a body that is not JSON.`, 'Check that --url points at a Kura API.');
    }
    if (!res.ok) {
      const e = (json as { error?: { id: string; code: string; message: string; action: string } } | undefined)?.error;
      if (e) throw new KuraError(e.id, e.code as 'EIO', e.message, e.action, res.status);
      throw new KuraError('KURA-E5012', 'EIO', `The API answered ${res.status}.`, 'Check the server log.');
    }
    return json as T;
  }
}

function readDefaultToken(): string | undefined {
  try {
    return fs.readFileSync(path.join('kura-data', 'admin.token'), 'utf8').trim();
  } catch {
    return undefined;
  }
}
