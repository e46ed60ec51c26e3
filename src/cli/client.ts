// The CLI's REST client (node:http, see http.ts): the only way the kura command reaches an
// array. Errors the API returns come back as KuraErrors with the server's id.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { API_PREFIX, pathOf } from '../api/route.js';
import type { ApiRoute, PathParams, QueryParams } from '../api/route.js';
import { KuraError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { dotNameError, pathParamError, pathParamProblem } from '../names.js';
import { TransportError, httpExchange } from './http.js';
import type { HttpAnswer } from './http.js';
import { argError } from './units.js';
import {
  API_URL_INVALID,
  API_ANSWER_INCOMPLETE,
  API_ANSWER_NOT_JSON,
  API_ANSWER_WITHOUT_BODY,
  API_TIMEOUT,
  API_TOKEN_NOT_FOUND,
  API_UNREACHABLE,
} from '../catalogue/cli.js';

export const DEFAULT_URL = 'http://127.0.0.1:9940';
/** Where the token is looked for when neither --token nor KURA_TOKEN gives one. */
export const DEFAULT_TOKEN_FILE = path.join('kura-data', 'admin.token');
/** A request that takes longer than this is abandoned (pool creation allocates files). */
const REQUEST_TIMEOUT_MS = 5 * 60_000;

export interface ClientOptions {
  url?: string;
  token?: string;
  /** Owner name for the configuration lock (X-Kura-Owner). */
  owner?: string;
  /** The array behind redundant managers (header x-kura-array; or KURA_ARRAY). */
  array?: string;
}

/** The CLI's owner name unless --owner or KURA_OWNER gives one: one per user and machine. */
export function defaultOwner(): string {
  let user = 'user';
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry (containers): keep the placeholder.
  }
  return `${user}@${os.hostname()}`.replace(/[^\x21-\x7e]/g, '_').slice(0, 64);
}

export class ApiClient {
  readonly url: string;
  private readonly token: string | undefined;
  readonly owner: string;
  private readonly array: string | undefined;

  constructor(opts: ClientOptions) {
    const url = (opts.url ?? process.env['KURA_URL'] ?? DEFAULT_URL).trim().replace(/\/+$/, '');
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw argError(API_URL_INVALID, { url, defaultUrl: DEFAULT_URL });
    }
    this.url = url;
    this.owner = opts.owner ?? (process.env['KURA_OWNER'] || undefined) ?? defaultOwner();
    this.token = opts.token ?? (process.env['KURA_TOKEN'] || undefined) ?? readDefaultToken();
    this.array = opts.array ?? (process.env['KURA_ARRAY'] || undefined);
  }

  /**
   * Sends the request a route description (src/api) makes: its method, its path
   * with these parameters (percent-encoded) and query, and the body.
   */
  send<T = unknown>(route: ApiRoute, params: PathParams = {}, body?: unknown, query: QueryParams = {}): Promise<T> {
    return this.call<T>(route.method, pathOf(route, params, query).slice(API_PREFIX.length), body);
  }

  /** `route` is the path under the API prefix; messages name it so. */
  private async call<T>(method: string, route: string, body?: unknown): Promise<T> {
    // The last guard before sending: a dot segment, resolved by any URL library
    // or proxy on the way, reaches the parent object (segArg() refuses them earlier, with exit 2).
    for (const seg of route.split('?')[0]!.split('/')) {
      const e = segmentError(seg);
      if (e) throw e;
    }
    let res: HttpAnswer;
    try {
      res = await httpExchange({
        method,
        base: new URL(this.url),
        path: `${API_PREFIX}${route}`,
        headers: {
          'x-kura-owner': this.owner,
          ...(this.array ? { 'x-kura-array': this.array } : {}),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
    } catch (e) {
      if (!(e instanceof TransportError)) throw e;
      if (e.kind === 'timeout') {
        throw API_TIMEOUT({ url: this.url, method, route, seconds: REQUEST_TIMEOUT_MS / 1000 });
      }
      if (e.kind === 'closed') {
        throw API_ANSWER_INCOMPLETE({ url: this.url, method, route, reason: e.message });
      }
      throw API_UNREACHABLE({ url: this.url, reason: e.message });
    }
    const text = res.body.toString('utf8');
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw API_ANSWER_NOT_JSON({ url: this.url, status: res.status });
    }
    if (res.status < 200 || res.status > 299) {
      if (res.status === 401 && !this.token) {
        throw API_TOKEN_NOT_FOUND();
      }
      const e = (json as { error?: { id?: unknown; code?: unknown; message?: unknown; action?: unknown } } | undefined)?.error;
      if (e && typeof e.id === 'string' && typeof e.message === 'string') {
        throw new KuraError(
          e.id,
          (typeof e.code === 'string' ? e.code : 'EIO') as ErrorCode,
          e.message,
          typeof e.action === 'string' ? e.action : 'See the server log.',
          res.status,
        );
      }
      throw API_ANSWER_WITHOUT_BODY({ status: res.status, statusText: res.statusText });
    }
    return json as T;
  }
}

/** The error for a path segment no request may carry ("." or "..", raw or percent-encoded; a decoded "/"), or undefined. */
export function segmentError(segment: string): KuraError | undefined {
  let v = segment;
  try {
    v = decodeURIComponent(segment);
  } catch {
    // Not percent-encoding: checked as it stands.
  }
  const problem = pathParamProblem(v);
  if (problem === 'dot') return dotNameError('name', v);
  return problem ? pathParamError('name', v) : undefined;
}

function readDefaultToken(): string | undefined {
  try {
    return fs.readFileSync(DEFAULT_TOKEN_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
