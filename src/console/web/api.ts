// The console's REST client: every path comes from the route descriptions
// (src/api) through pathOf, as in the CLI. Calls ride on the session cookie;
// a change carries the session's CSRF token (from the shell's meta tag). A 401
// means the session ended: back to the login page.
import { pathOf } from '../../api/route.js';
import type { ApiRoute, PathParams, QueryParams } from '../../api/route.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
    readonly action: string,
  ) {
    super(message);
  }
}

export const csrfToken = document.querySelector('meta[name="kura-csrf"]')?.getAttribute('content') ?? '';

export async function call<T>(route: ApiRoute, params: PathParams = {}, body?: unknown, query: QueryParams = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (route.method !== 'GET') headers['x-csrf-token'] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(pathOf(route, params, query), {
    method: route.method,
    credentials: 'same-origin',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status === 401) {
    location.assign('/login');
    throw new ApiError(401, '', 'The console session has ended.', 'Log in again.');
  }
  let value: unknown;
  try {
    value = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(res.status, '', `The server answered ${res.status} with a body that is not JSON.`, 'Reload the page.');
  }
  if (!res.ok) {
    const e = (value as { error?: { id?: string; message?: string; action?: string } } | undefined)?.error;
    throw new ApiError(res.status, e?.id ?? '', e?.message ?? `HTTP ${res.status}`, e?.action ?? '');
  }
  return value as T;
}
