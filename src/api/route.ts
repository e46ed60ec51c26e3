// What a REST route is, as plain data: its method, path template, tag, summary,
// body and query fields, and success status. The manager binds a handler to
// each description (src/manager/routes/) and generates the OpenAPI document
// from them; the CLI takes every path it calls from them (pathOf), so a route
// and its command cannot drift apart. This folder imports none of the layers.

export const API_PREFIX = '/api/v1';

/**
 * `map`: a JSON object of string values (null where a value is removed), e.g. VVOL metadata.
 * `object[]`: an array of JSON objects whose fields the handler checks (a pathd report's paths).
 */
export type FieldType = 'string' | 'integer' | 'size' | 'boolean' | 'string[]' | 'map' | 'object[]';

export interface FieldSpec {
  type: FieldType;
  required?: boolean;
  description: string;
  /** For strings: the only values accepted. */
  enum?: string[];
}

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** The path under the server, with {name} for each path parameter, e.g. /api/v1/pools/{ref}. */
  path: string;
  summary: string;
  /** Mutating routes record a configuration event; `tag` groups them in the document. */
  tag: string;
  body?: Record<string, FieldSpec>;
  query?: Record<string, FieldSpec>;
  /** Status for success (200 unless said). */
  status?: number;
  public?: boolean;
  /** Not a configuration change: allowed while another owner holds the configuration lock. */
  lockExempt?: boolean;
}

/** Values of a route's path parameters, by name. */
export type PathParams = Record<string, string | number>;
/** Query parameters to send; undefined ones are left out. */
export type QueryParams = Record<string, string | number | boolean | undefined>;

/** The names of a path template's parameters, in order: /pools/{ref} gives ["ref"]. */
export function paramNames(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
}

/**
 * The request path of a route (prefix included) with its parameters
 * percent-encoded and the query appended. A parameter the template lacks or
 * leaves unfilled, or a query parameter the route does not describe, is a
 * programming error: it throws rather than send a request no route answers.
 */
export function pathOf(route: ApiRoute, params: PathParams = {}, query: QueryParams = {}): string {
  const names = paramNames(route.path);
  for (const k of Object.keys(params)) {
    if (!names.includes(k)) throw new Error(`${route.method} ${route.path} has no path parameter {${k}}.`);
  }
  const path = route.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`${route.method} ${route.path} needs a value for {${name}}.`);
    return encodeURIComponent(String(v));
  });
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    if (!route.query || !Object.hasOwn(route.query, k)) throw new Error(`${route.method} ${route.path} takes no query parameter ${k}.`);
    q.set(k, String(v));
  }
  return q.size > 0 ? `${path}?${q}` : path;
}
