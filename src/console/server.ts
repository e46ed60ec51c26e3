// The web console, served by the manager on the API port: the login form at
// /login (and at / without a session), the front end's shell at / with a
// session, its bundle under /assets/, logout at /logout and the live event
// stream at /console/events. For the API it decides on requests that carry
// the session cookie instead of the bearer token: a read needs a live session
// and a same-origin browser; a change needs the session's CSRF token too.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_TOKEN_MISSING } from '../catalogue/manager.js';
import { CONSOLE_NOT_BUILT, CSRF_TOKEN_INVALID, LOGIN_FORM_INVALID, LOGIN_THROTTLED, LOGIN_TOKEN_WRONG, SESSION_ENDED } from '../catalogue/console.js';
import { EventStream } from './event-stream.js';
import type { EventFeed, StreamLimits } from './event-stream.js';
import { SESSION_COOKIE, checkOrigin, cookieOf, guardHeaders, ownOrigin, sessionCookie } from './http-guard.js';
import { appShell, loginPage } from './pages.js';
import { SessionStore } from './sessions.js';
import type { Session, SessionLimits } from './sessions.js';

/** Where `npm run build` puts the bundle (dist/console, beside dist/src). */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

export const CSRF_HEADER = 'x-csrf-token';
/** Failed logins from one address within LOGIN_WINDOW_MS before logins from it are refused for that long. */
const LOGIN_FAILURES = 10;
const LOGIN_WINDOW_MS = 60_000;
const MAX_FORM = 2048;

const ASSETS: Record<string, string> = {
  '/assets/app.js': 'text/javascript; charset=utf-8',
  '/assets/app.css': 'text/css; charset=utf-8',
};

export interface ConsoleOptions {
  events: EventFeed;
  /** Whether a string is the API token (compared in constant time by the caller). */
  isToken: (token: string) => boolean;
  /** Whether the request carries a valid bearer token. */
  hasBearer: (req: http.IncomingMessage) => boolean;
  /** The array's name for the login page. */
  arrayName?: () => string;
  sessions?: SessionLimits;
  streams?: StreamLimits;
  assetsDir?: string;
  now?: () => number;
}

export class ConsoleServer {
  readonly sessions: SessionStore;
  readonly stream: EventStream;
  private readonly assetsDir: string;
  private readonly assets = new Map<string, { body: Buffer; etag: string }>();
  private readonly failures = new Map<string, { count: number; first: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: ConsoleOptions) {
    this.now = opts.now ?? Date.now;
    this.sessions = new SessionStore(opts.sessions, this.now);
    this.stream = new EventStream(opts.events, opts.streams);
    this.sessions.onEnd((key) => this.stream.endSession(key));
    this.assetsDir = opts.assetsDir ?? DEFAULT_ASSETS_DIR;
  }

  /** Whether a path is the console's (the manager hands it over before routing). */
  owns(p: string): boolean {
    return p === '/' || p === '/login' || p === '/logout' || p === '/console/events' || Object.hasOwn(ASSETS, p);
  }

  /** Answers a console path; errors are thrown for the manager to send. */
  async serve(req: http.IncomingMessage, res: http.ServerResponse, p: string): Promise<void> {
    guardHeaders(res);
    const method = req.method ?? 'GET';
    if (Object.hasOwn(ASSETS, p)) return this.asset(req, res, p);
    if (p === '/console/events') return this.events(req, res);
    if (p === '/login' && method === 'POST') return this.login(req, res);
    if (p === '/logout' && method === 'POST') return this.logout(req, res);
    if (method !== 'GET' && method !== 'HEAD') {
      req.resume();
      res.writeHead(405, { allow: 'GET' });
      res.end();
      return;
    }
    const session = this.sessions.get(cookieOf(req, SESSION_COOKIE));
    if (p === '/login' && session) return redirect(res, '/');
    if (p === '/' && session) {
      // The shell needs the bundle: say so now rather than show an empty page.
      this.load('/assets/app.js');
      return html(res, 200, appShell(session.csrf));
    }
    html(res, 200, loginPage({ array: this.opts.arrayName?.() }));
  }

  /**
   * For an API request without a valid bearer token: accepts it on a live
   * session cookie from this origin, with the session's CSRF token for a
   * change; throws otherwise (API_TOKEN_MISSING when there is no cookie).
   */
  authorizeApi(req: http.IncomingMessage, change: boolean): void {
    this.sessionOf(req, change);
  }

  close(): void {
    this.stream.close();
    this.sessions.clear();
  }

  private sessionOf(req: http.IncomingMessage, change: boolean): Session {
    const id = cookieOf(req, SESSION_COOKIE);
    if (id === undefined) throw API_TOKEN_MISSING();
    const session = this.sessions.get(id);
    if (!session) throw SESSION_ENDED();
    checkOrigin(req, change);
    if (change && !sameSecret(req.headers[CSRF_HEADER], session.csrf)) throw CSRF_TOKEN_INVALID();
    return session;
  }

  private events(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' });
      res.end();
      return;
    }
    const owner = this.opts.hasBearer(req) ? null : this.sessionOf(req, false).key;
    this.stream.start(req, res, owner);
  }

  private async login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const addr = req.socket.remoteAddress ?? '?';
    const throttled = this.throttled(addr);
    if (throttled > 0) {
      req.resume();
      throw LOGIN_THROTTLED({ seconds: Math.ceil(throttled / 1000) });
    }
    // A login from another site's page would log the browser into the attacker's choice.
    checkOrigin(req, true);
    const form = await readForm(req);
    const token = form.get('token');
    if (token === null || token.length > 512) throw LOGIN_FORM_INVALID();
    if (!this.opts.isToken(token.trim())) {
      this.fail(addr);
      const e = LOGIN_TOKEN_WRONG();
      return html(res, 401, loginPage({ error: `${e.message} ${e.action} (${e.id})`, array: this.opts.arrayName?.() }));
    }
    this.failures.delete(addr);
    // Never promote an id the browser came with: end it, make a new one.
    this.sessions.destroy(cookieOf(req, SESSION_COOKIE));
    const { id } = this.sessions.create();
    res.setHeader('set-cookie', sessionCookie(id, this.sessions.cookieMaxAge(), ownOrigin(req).startsWith('https:')));
    redirect(res, '/');
  }

  private async logout(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    checkOrigin(req, true);
    const id = cookieOf(req, SESSION_COOKIE);
    const session = this.sessions.get(id);
    const form = await readForm(req);
    // A forged logout would be a nuisance only, but it is refused like any change.
    if (session && !sameSecret(req.headers[CSRF_HEADER] ?? form.get('csrf') ?? undefined, session.csrf)) throw CSRF_TOKEN_INVALID();
    this.sessions.destroy(id);
    res.setHeader('set-cookie', sessionCookie('', 0, ownOrigin(req).startsWith('https:')));
    redirect(res, '/login');
  }

  private asset(req: http.IncomingMessage, res: http.ServerResponse, p: string): void {
    req.resume();
    const a = this.load(p);
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304, { etag: a.etag });
      res.end();
      return;
    }
    // Revalidated on each load (a rebuilt bundle is picked up at once), cheap with the ETag.
    res.writeHead(200, { 'content-type': ASSETS[p]!, 'content-length': a.body.length, etag: a.etag, 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : a.body);
  }

  private load(p: string): { body: Buffer; etag: string } {
    const cached = this.assets.get(p);
    if (cached) return cached;
    const file = path.join(this.assetsDir, path.basename(p));
    let body: Buffer;
    try {
      body = fs.readFileSync(file);
    } catch {
      throw CONSOLE_NOT_BUILT({ file });
    }
    const a = { body, etag: `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
    this.assets.set(p, a);
    return a;
  }

  /** Milliseconds logins from this address stay refused (0: allowed). */
  private throttled(addr: string): number {
    const f = this.failures.get(addr);
    if (!f) return 0;
    const age = this.now() - f.first;
    if (age > LOGIN_WINDOW_MS) {
      this.failures.delete(addr);
      return 0;
    }
    return f.count >= LOGIN_FAILURES ? LOGIN_WINDOW_MS - age : 0;
  }

  private fail(addr: string): void {
    // Bounded: a flood of addresses forgets the oldest counts, it cannot grow the map.
    if (this.failures.size > 1000) this.failures.delete(this.failures.keys().next().value!);
    const f = this.failures.get(addr);
    if (f) f.count++;
    else this.failures.set(addr, { count: 1, first: this.now() });
  }
}

function sameSecret(given: string | string[] | undefined, want: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

function html(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

function redirect(res: http.ServerResponse, to: string): void {
  res.writeHead(303, { location: to, 'cache-control': 'no-store', 'content-length': 0 });
  res.end();
}

function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const type = String(req.headers['content-type'] ?? '');
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      text += c;
      if (text.length > MAX_FORM) {
        req.removeAllListeners('data');
        req.resume();
        reject(LOGIN_FORM_INVALID());
      }
    });
    req.on('end', () => {
      if (text !== '' && !type.startsWith('application/x-www-form-urlencoded')) reject(LOGIN_FORM_INVALID());
      else resolve(new URLSearchParams(text));
    });
    req.on('error', reject);
  });
}
