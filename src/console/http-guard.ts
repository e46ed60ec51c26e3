// What the console's HTTP answers share: the session cookie, the origin checks
// that keep another site from acting with (or reading through) a session, and
// the headers every page carries (CSP, no framing, no sniffing, no caching).
import type http from 'node:http';
import { ORIGIN_REFUSED } from '../catalogue/console.js';

export const SESSION_COOKIE = 'kura_session';

/**
 * Pages may run only the bundled script and style from this server, connect
 * only back to it, post forms only to it, and may not be framed by anyone
 * (clickjacking). No inline script or style is allowed, so an injected tag
 * would not run even if a name were ever rendered as markup.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Headers of every console answer (pages, assets, the stream, console errors). */
export function guardHeaders(res: http.ServerResponse): void {
  res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('x-content-type-options', 'nosniff');
  // same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on its own form posts.
  res.setHeader('referrer-policy', 'same-origin');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
}

/** The value of one cookie of the request, or undefined. */
export function cookieOf(req: http.IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other
 * site's page sends it), Path=/ and, behind TLS, Secure. Max-Age 0 clears it.
 */
export function sessionCookie(id: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

/** The origin a page of this server has, from the Host header the browser sent. */
export function ownOrigin(req: http.IncomingMessage): string {
  const tls = (req.socket as { encrypted?: boolean }).encrypted === true;
  return `${tls ? 'https' : 'http'}://${req.headers.host ?? ''}`;
}

/**
 * Refuses a request made with the session cookie that a browser says comes
 * from another origin. Browsers send Origin with every POST, PATCH and DELETE
 * and Sec-Fetch-Site with every request; another port of the same host is the
 * same site (SameSite lets the cookie through) but another origin, so the
 * check is by origin. A change must name its origin (Origin, or Sec-Fetch-Site
 * same-origin); a read is refused only when the browser says it is
 * cross-origin ("none", a typed address or bookmark, is a read's only).
 */
export function checkOrigin(req: http.IncomingMessage, change: boolean): void {
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  const own = ownOrigin(req);
  if (typeof origin === 'string' && origin !== own) throw ORIGIN_REFUSED({ origin: origin.slice(0, 100) });
  if (typeof site === 'string' && site !== 'same-origin' && !(site === 'none' && !change))
    throw ORIGIN_REFUSED({ origin: `Sec-Fetch-Site: ${site.slice(0, 20)}` });
  if (change && origin === undefined && site === undefined) throw ORIGIN_REFUSED({ origin: 'no Origin header' });
}

/** Text for HTML: every character that could open markup or an attribute is escaped. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}
