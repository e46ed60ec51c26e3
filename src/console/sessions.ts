// Console sessions, kept on the server: the browser holds only a random id in
// an HttpOnly cookie. A login always makes a new id (a session id an attacker
// planted before login is never promoted), each session has its own CSRF
// token, and a session ends at logout, after an idle time, after an absolute
// lifetime, or when the store is full (the oldest goes). The map is keyed by
// the SHA-256 of the id, so neither a lookup's timing nor a dump of the map
// gives a usable id away. A restart of the manager ends every session.
import crypto from 'node:crypto';

export interface Session {
  /** SHA-256 of the cookie's id, hex: the key of the store. */
  readonly key: string;
  /** Sent by the console page with every change (header X-CSRF-Token). */
  readonly csrf: string;
  readonly created: number;
  lastSeen: number;
}

export interface SessionLimits {
  /** A session unused this long ends (default 30 min). */
  idleMs?: number;
  /** A session ends this long after login whatever its use (default 12 h). */
  lifetimeMs?: number;
  /** Sessions kept at once; a new login beyond this ends the oldest (default 64). */
  maxSessions?: number;
}

export const DEFAULT_SESSION_IDLE_MS = 30 * 60_000;
export const DEFAULT_SESSION_LIFETIME_MS = 12 * 3_600_000;
export const DEFAULT_MAX_SESSIONS = 64;

const hash = (id: string): string => crypto.createHash('sha256').update(id).digest('hex');

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly ended: Array<(key: string) => void> = [];
  readonly idleMs: number;
  readonly lifetimeMs: number;
  private readonly max: number;

  constructor(
    limits: SessionLimits = {},
    private readonly now: () => number = Date.now,
  ) {
    this.idleMs = limits.idleMs ?? DEFAULT_SESSION_IDLE_MS;
    this.lifetimeMs = limits.lifetimeMs ?? DEFAULT_SESSION_LIFETIME_MS;
    this.max = limits.maxSessions ?? DEFAULT_MAX_SESSIONS;
  }

  /** A new session: the id for the cookie (shown once, never stored) and the session. */
  create(): { id: string; session: Session } {
    this.sweep();
    while (this.sessions.size >= this.max) this.end(this.sessions.keys().next().value!);
    const id = crypto.randomBytes(32).toString('base64url');
    const t = this.now();
    const session: Session = { key: hash(id), csrf: crypto.randomBytes(32).toString('base64url'), created: t, lastSeen: t };
    this.sessions.set(session.key, session);
    return { id, session };
  }

  /** The live session of a cookie id (its use counts as activity), or undefined. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const s = this.sessions.get(hash(id));
    if (!s) return undefined;
    const t = this.now();
    if (this.expired(s, t)) {
      this.end(s.key);
      return undefined;
    }
    s.lastSeen = t;
    return s;
  }

  /** Ends a session by its cookie id (logout); unknown ids are ignored. */
  destroy(id: string | undefined): void {
    if (id !== undefined) this.end(hash(id));
  }

  /** Called with a session's key when it ends, for streams held open under it. */
  onEnd(fn: (key: string) => void): void {
    this.ended.push(fn);
  }

  /** Seconds the cookie may live (the absolute lifetime; idle expiry is the server's). */
  cookieMaxAge(): number {
    return Math.floor(this.lifetimeMs / 1000);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Ends every expired session (also run on each login). */
  sweep(): void {
    const t = this.now();
    for (const s of [...this.sessions.values()]) if (this.expired(s, t)) this.end(s.key);
  }

  clear(): void {
    for (const k of [...this.sessions.keys()]) this.end(k);
  }

  private expired(s: Session, t: number): boolean {
    return t - s.lastSeen > this.idleMs || t - s.created > this.lifetimeMs;
  }

  private end(key: string): void {
    if (!this.sessions.delete(key)) return;
    for (const fn of this.ended) fn(key);
  }
}
