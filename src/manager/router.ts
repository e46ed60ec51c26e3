// A small explicit router: a table of routes, each with its method, path
// pattern, body fields and handler. The same table produces the OpenAPI
// document, so the two cannot drift apart.
import type http from 'node:http';
import { KuraError } from '../errors.js';
import { parseSize } from '../units.js';

export type FieldType = 'string' | 'integer' | 'size' | 'boolean' | 'string[]';

export interface FieldSpec {
  type: FieldType;
  required?: boolean;
  description: string;
}

export interface RouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
}

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  summary: string;
  /** Mutating routes record a configuration event; `tag` groups them in the document. */
  tag: string;
  body?: Record<string, FieldSpec>;
  query?: Record<string, FieldSpec>;
  /** Status for success (200 unless said). */
  status?: number;
  public?: boolean;
  handler: (ctx: RouteContext) => unknown | Promise<unknown>;
}

interface Compiled {
  route: Route;
  re: RegExp;
  names: string[];
}

export class Router {
  readonly routes: Route[] = [];
  private compiled: Compiled[] = [];

  add(route: Route): void {
    const names: string[] = [];
    const re = new RegExp('^' + route.path.replace(/\{(\w+)\}/g, (_m, n: string) => (names.push(n), '([^/]+)')) + '$');
    this.routes.push(route);
    this.compiled.push({ route, re, names });
  }

  /** Finds the route for a request: 404 for an unknown path, 405 for a known path with another method. */
  match(method: string, path: string): { route: Route; params: Record<string, string> } {
    let pathKnown = false;
    for (const c of this.compiled) {
      const m = c.re.exec(path);
      if (!m) continue;
      pathKnown = true;
      if (c.route.method !== method) continue;
      const params: Record<string, string> = {};
      c.names.forEach((n, i) => {
        try {
          params[n] = decodeURIComponent(m[i + 1]!);
        } catch {
          throw new KuraError('KURA-E4004', 'EINVAL', `The path segment "${m[i + 1]}" is not valid percent-encoding.`, 'Encode names with encodeURIComponent.');
        }
      });
      return { route: c.route, params };
    }
    if (pathKnown) {
      throw new KuraError('KURA-E4005', 'EINVAL', `Method ${method} is not allowed on ${path}.`, 'See /api/v1/openapi.json for the methods of each path.', 405);
    }
    throw new KuraError('KURA-E4006', 'ENOENT', `There is no API resource at ${path}.`, 'See /api/v1/openapi.json for the API.', 404);
  }
}

/** Checks a JSON body against the route's fields: types, required fields, no unknown fields. */
export function validateBody(route: Route, raw: unknown): Record<string, unknown> {
  const spec = route.body ?? {};
  if (raw === undefined) raw = {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new KuraError('KURA-E4010', 'EINVAL', 'The request body must be a JSON object.', 'Send a JSON object with the fields the API document lists.');
  }
  const body = raw as Record<string, unknown>;
  for (const k of Object.keys(body)) {
    if (!(k in spec)) {
      throw new KuraError('KURA-E4011', 'EINVAL', `Unknown field "${k}" in the request body.`, `Allowed fields: ${Object.keys(spec).join(', ') || 'none'}.`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(spec)) {
    const v = body[k];
    if (v === undefined || v === null) {
      if (f.required) throw new KuraError('KURA-E4012', 'EINVAL', `The field "${k}" is required.`, `Give ${k}: ${f.description}.`);
      continue;
    }
    out[k] = coerce(k, f, v);
  }
  return out;
}

function coerce(k: string, f: FieldSpec, v: unknown): unknown {
  const wrong = () => new KuraError('KURA-E4013', 'EINVAL', `The field "${k}" must be ${f.type === 'size' ? 'a size (bytes or a string like 10GiB)' : `of type ${f.type}`}.`, `Give ${k}: ${f.description}.`);
  switch (f.type) {
    case 'string':
      if (typeof v !== 'string') throw wrong();
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw wrong();
      return v;
    case 'integer':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw wrong();
      return v;
    case 'size':
      if (typeof v !== 'number' && typeof v !== 'string') throw wrong();
      return parseSize(v, k);
    case 'string[]':
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw wrong();
      return v;
  }
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = value === undefined ? '' : JSON.stringify(value, null, 2);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendError(res: http.ServerResponse, e: KuraError): void {
  sendJson(res, e.httpStatus, { error: e.toJSON() });
}
