// A small explicit router: a table of routes, each a description from
// src/api (method, path pattern, body fields) with its handler. The same
// descriptions produce the OpenAPI document and give the CLI its paths, so
// none of them can drift apart.
import http from 'node:http';
import { KuraError } from '../errors.js';
import { pathParamError, pathParamProblem } from '../names.js';
import { parseNumber, parseSize } from '../units.js';
import type { ApiRoute, FieldSpec } from '../api/route.js';
import {
  METHOD_NOT_ALLOWED,
  NO_API_RESOURCE,
  QUERY_NO_PARAMETERS,
  QUERY_UNKNOWN_PARAMETER,
  BODY_FIELD_REQUIRED,
  BODY_FIELD_WRONG_TYPE,
  BODY_NOT_OBJECT,
  BODY_UNKNOWN_FIELD,
  PATH_SEGMENT_BAD_ENCODING,
  QUERY_PARAMETER_REPEATED,
  QUERY_PARAMETER_WRONG_TYPE,
  REQUEST_TARGET_INVALID,
  VALUE_NOT_IN_ENUM,
} from '../catalogue/manager.js';

export type { FieldSpec, FieldType } from '../api/route.js';

export interface RouteContext {
  params: Record<string, string>;
  /** Query parameters checked against the route's `query` fields and converted to their types. */
  query: Record<string, unknown>;
  body: Record<string, unknown>;
  /** The client's owner name (header X-Kura-Owner), for the configuration lock. */
  owner?: string;
}

/** A route description (src/api) with the handler the manager binds to it. */
export interface Route extends ApiRoute {
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

  /**
   * Finds the route for a request: 404 for an unknown path, 405 for a known
   * path with another method. `path` is the raw path of the request target,
   * still percent-encoded and never normalised (see requestTarget): segments
   * are matched literally, and parameters are decoded after matching.
   */
  match(method: string, path: string): { route: Route; params: Record<string, string> } {
    const allowed: string[] = [];
    for (const c of this.compiled) {
      const m = c.re.exec(path);
      if (!m) continue;
      allowed.push(c.route.method);
      if (c.route.method !== method) continue;
      const params: Record<string, string> = {};
      c.names.forEach((n, i) => {
        let v: string;
        try {
          v = decodeURIComponent(m[i + 1]!);
        } catch {
          throw PATH_SEGMENT_BAD_ENCODING({ segment: m[i + 1] });
        }
        // Checked before any handler runs: "..", raw or as %2e%2e, must never reach a lookup.
        if (pathParamProblem(v)) throw pathParamError(n, v);
        params[n] = v;
      });
      return { route: c.route, params };
    }
    if (allowed.length) throw new MethodNotAllowed(method, path, allowed);
    throw NO_API_RESOURCE({ path });
  }
}

/**
 * Splits a request target into its raw path and its query, without the URL
 * parser: WHATWG URL resolves "." and ".." segments (and %2e%2e), which would
 * turn DELETE /lds/v/snapshots/.. into DELETE /lds/v. The absolute form
 * (http://host/path, RFC 9112 3.2.2) is accepted; "*" and anything not
 * starting with "/" is refused.
 */
export function requestTarget(target: string): { path: string; query: URLSearchParams } {
  let t = target;
  const abs = /^https?:\/\/[^/?#]*/i.exec(t);
  if (abs) t = t.slice(abs[0].length) || '/';
  const hash = t.indexOf('#');
  if (hash >= 0) t = t.slice(0, hash);
  if (!t.startsWith('/')) {
    throw REQUEST_TARGET_INVALID();
  }
  const q = t.indexOf('?');
  const rawPath = q >= 0 ? t.slice(0, q) : t;
  return { path: rawPath.replace(/\/+$/, '') || '/', query: new URLSearchParams(q >= 0 ? t.slice(q + 1) : '') };
}

/** 405, with the methods the path does allow (sent as the Allow header). */
export class MethodNotAllowed extends KuraError {
  constructor(
    method: string,
    path: string,
    readonly allow: string[],
  ) {
    const e = METHOD_NOT_ALLOWED({ method, path, allow: allow.join(', ') });
    super(e.id, e.code, e.message, e.action, e.httpStatus);
  }
}

/** Checks query parameters against the route's fields: no unknown ones, no repeats, right types. */
export function validateQuery(route: Route, query: URLSearchParams): Record<string, unknown> {
  const spec = route.query ?? {};
  const out: Record<string, unknown> = {};
  for (const k of new Set(query.keys())) {
    // Own fields only: "constructor" or "__proto__" must not find Object.prototype's.
    const f = Object.hasOwn(spec, k) ? spec[k] : undefined;
    if (!f) {
      throw Object.keys(spec).length ? QUERY_UNKNOWN_PARAMETER({ param: k, allowed: Object.keys(spec).join(', ') }) : QUERY_NO_PARAMETERS({ param: k });
    }
    const all = query.getAll(k);
    if (all.length > 1) throw QUERY_PARAMETER_REPEATED({ k, length: all.length });
    const v = all[0]!;
    const wrong = () =>
      QUERY_PARAMETER_WRONG_TYPE({
        k,
        value: JSON.stringify(v),
        expected: f.type === 'integer' ? 'a whole number' : f.type === 'boolean' ? 'true or false' : `of type ${f.type}`,
        description: f.description,
      });
    switch (f.type) {
      case 'integer': {
        const n = parseNumber(v, k, true);
        if (n === undefined || !Number.isSafeInteger(n)) throw wrong();
        out[k] = n;
        break;
      }
      case 'boolean':
        if (v !== 'true' && v !== 'false' && v !== '1' && v !== '0') throw wrong();
        out[k] = v === 'true' || v === '1';
        break;
      case 'size':
        out[k] = coerce(k, f, v);
        break;
      default:
        checkEnum(k, f, v);
        out[k] = v;
    }
  }
  return out;
}

/** Checks a JSON body against the route's fields: types, required fields, no unknown fields. */
export function validateBody(route: Route, raw: unknown): Record<string, unknown> {
  const spec = route.body ?? {};
  if (raw === undefined) raw = {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw BODY_NOT_OBJECT();
  }
  const body = raw as Record<string, unknown>;
  for (const k of Object.keys(body)) {
    if (!Object.hasOwn(spec, k)) {
      throw BODY_UNKNOWN_FIELD({ k, allowed: Object.keys(spec).join(', ') || 'none' });
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(spec)) {
    const v = body[k];
    if (v === undefined || v === null) {
      if (f.required) throw BODY_FIELD_REQUIRED({ k, description: f.description });
      continue;
    }
    out[k] = coerce(k, f, v);
  }
  return out;
}

function coerce(k: string, f: FieldSpec, v: unknown): unknown {
  const wrong = () =>
    BODY_FIELD_WRONG_TYPE({
      k,
      expected:
        f.type === 'size'
          ? 'a size (a whole number of bytes, or a string like "512MiB", "10GiB", "1TiB")'
          : f.type === 'string[]'
            ? 'an array of strings'
            : f.type === 'map'
              ? 'an object of string values'
              : f.type === 'object[]'
                ? 'an array of objects'
                : `of type ${f.type}`,
      got: JSON.stringify(v)?.slice(0, 40),
      description: f.description,
    });
  switch (f.type) {
    case 'string':
      if (typeof v !== 'string') throw wrong();
      checkEnum(k, f, v);
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw wrong();
      return v;
    case 'integer':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw wrong();
      return v;
    case 'size':
      if (typeof v !== 'number' && typeof v !== 'string') throw wrong();
      try {
        return parseSize(v, k);
      } catch {
        throw wrong();
      }
    case 'string[]':
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw wrong();
      return v;
    case 'map':
      if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string' && x !== null)) throw wrong();
      return v;
    case 'object[]':
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'object' || x === null || Array.isArray(x))) throw wrong();
      return v;
  }
}

function checkEnum(k: string, f: FieldSpec, v: string): void {
  if (f.enum && !f.enum.includes(v)) {
    throw VALUE_NOT_IN_ENUM({ value: JSON.stringify(v).slice(0, 40), k, allowed: f.enum.join(', ') });
  }
}

/** A handler's answer that is not JSON (the Prometheus text of /metrics): sent as it is, with its content type. */
export class RawReply {
  constructor(
    readonly contentType: string,
    readonly body: string | Buffer,
  ) {}
}

export function sendRaw(res: http.ServerResponse, status: number, r: RawReply): void {
  res.writeHead(status, { 'content-type': r.contentType, 'content-length': Buffer.byteLength(r.body) });
  res.end(r.body);
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = value === undefined ? '' : JSON.stringify(value, null, 2);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
