// Provider settings (the seed's SetProviderConf, VVM 2.2.1 and 2.3.1,
// L376-L536): the provider's account, the disk arrays it manages (at most
// four, IPv4), the vCenter Server it reports to (IPv4, HTTPS port, Single Sign
// On user and password without the forbidden symbols) and the interval at which
// the relation file is checked and written (5-1440 minutes, default 5). Kept
// in the provider's SQLite database; passwords only as scrypt hashes.
import crypto from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  SETTINGS_ACCOUNT_INVALID,
  SETTINGS_ARRAY_NOT_REGISTERED,
  SETTINGS_ARRAY_REGISTERED,
  SETTINGS_INTERVAL_INVALID,
  SETTINGS_IP_INVALID,
  SETTINGS_REQUEST_INVALID,
  SETTINGS_TOO_MANY_ARRAYS,
  SETTINGS_VCENTER_INVALID,
} from '../../catalogue/backup.js';

export const MIN_INTERVAL_MIN = 5;
export const MAX_INTERVAL_MIN = 1440;
export const DEFAULT_INTERVAL_MIN = 5;
export const MAX_ARRAYS = 4;
export const MAX_ACCOUNT_CHARS = 255;
export const DEFAULT_VCENTER_PORT = 443;
/** Symbols a vCenter user name or password cannot hold (VVM L526-L527). */
export const VCENTER_FORBIDDEN = ['"', '&', "'", ',', ';', '<', '=', '>', '^', '|'];

/** The seed's success lines (VVM L462, L476, L490, L504, L521). */
export const SET_OK = 'Set successfully!';
export const ADD_OK = 'ADD successfully!';
export const DELETE_OK = 'Delete successfully!';

export interface ProviderSettings {
  user: string | null;
  arrays: string[];
  vcenter: { ip: string; port: number; user: string } | null;
  /** Minutes between configuration checks of the relation file. */
  interval: number;
}

interface Stored extends ProviderSettings {
  passwordHash: string | null;
  vcenterPasswordHash: string | null;
}

export interface SettingsChange {
  user?: string;
  password?: string;
  addArray?: string;
  deleteArray?: string;
  vcenterIp?: string;
  vcenterPort?: number;
  vcenterUser?: string;
  vcenterPassword?: string;
  interval?: number;
}

const hash = (s: string): string => {
  const salt = crypto.randomBytes(16);
  return `scrypt:${salt.toString('hex')}:${crypto.scryptSync(s, salt, 32).toString('hex')}`;
};

/** Letters, digits and the seed's symbols: every printable ASCII character but the space, 1 to 255 of them (VVM L380-L384, L440-L448). */
export function checkAccount(what: 'user name' | 'password', v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw SETTINGS_ACCOUNT_INVALID({ what, why: 'it is empty' });
  if (v.length > MAX_ACCOUNT_CHARS) throw SETTINGS_ACCOUNT_INVALID({ what, why: `it has ${v.length} characters, more than ${MAX_ACCOUNT_CHARS}` });
  const bad = [...v].find((c) => !/^[\x21-\x7e]$/.test(c));
  if (bad !== undefined) throw SETTINGS_ACCOUNT_INVALID({ what, why: `it holds ${bad === ' ' ? 'a space' : JSON.stringify(bad)}, which cannot be used` });
  return v;
}

export function checkIpv4(v: unknown): string {
  const s = typeof v === 'string' ? v : String(v);
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m || m.slice(1).some((o) => Number(o) > 255 || (o.length > 1 && o.startsWith('0')))) throw SETTINGS_IP_INVALID({ ip: JSON.stringify(s).slice(0, 60) });
  return s;
}

export function checkInterval(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < MIN_INTERVAL_MIN || v > MAX_INTERVAL_MIN) throw SETTINGS_INTERVAL_INVALID();
  return v;
}

function checkVcenterAccount(what: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw SETTINGS_VCENTER_INVALID({ what, why: 'it is empty' });
  if (v.length > MAX_ACCOUNT_CHARS) throw SETTINGS_VCENTER_INVALID({ what, why: `it has more than ${MAX_ACCOUNT_CHARS} characters` });
  const bad = [...v].find((c) => VCENTER_FORBIDDEN.includes(c) || !/^[\x21-\x7e]$/.test(c));
  if (bad !== undefined) throw SETTINGS_VCENTER_INVALID({ what, why: `it holds ${bad === ' ' ? 'a space' : bad}, which cannot be used` });
  return v;
}

export class SettingsStore {
  private readonly listeners = new Set<(s: ProviderSettings) => void>();

  constructor(private readonly db: Database.Database) {
    db.exec('CREATE TABLE IF NOT EXISTS vvol_provider_settings (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL)');
  }

  private load(): Stored {
    const r = this.db.prepare('SELECT json FROM vvol_provider_settings WHERE id = 1').get() as { json: string } | undefined;
    return r
      ? (JSON.parse(r.json) as Stored)
      : { user: null, passwordHash: null, arrays: [], vcenter: null, vcenterPasswordHash: null, interval: DEFAULT_INTERVAL_MIN };
  }

  get(): ProviderSettings {
    const s = this.load();
    return { user: s.user, arrays: [...s.arrays], vcenter: s.vcenter && { ...s.vcenter }, interval: s.interval };
  }

  onChange(fn: (s: ProviderSettings) => void): void {
    this.listeners.add(fn);
  }

  /** Checks every part of the change first, then stores all of it; returns the seed's success lines. */
  set(c: SettingsChange): { settings: ProviderSettings; lines: string[] } {
    const s = this.load();
    const lines: string[] = [];
    if (Object.values(c).every((v) => v === undefined)) throw SETTINGS_REQUEST_INVALID({ why: 'nothing to change was given' });
    if (c.user !== undefined || c.password !== undefined) {
      if (c.user === undefined || c.password === undefined) throw SETTINGS_REQUEST_INVALID({ why: 'the user name and the password are set together' });
      s.user = checkAccount('user name', c.user);
      s.passwordHash = hash(checkAccount('password', c.password));
      lines.push(SET_OK);
    }
    if (c.addArray !== undefined) {
      const ip = checkIpv4(c.addArray);
      if (s.arrays.includes(ip)) throw SETTINGS_ARRAY_REGISTERED({ ip });
      if (s.arrays.length >= MAX_ARRAYS) throw SETTINGS_TOO_MANY_ARRAYS();
      s.arrays.push(ip);
      lines.push(ADD_OK);
    }
    if (c.deleteArray !== undefined) {
      const ip = checkIpv4(c.deleteArray);
      if (!s.arrays.includes(ip)) throw SETTINGS_ARRAY_NOT_REGISTERED({ ip });
      s.arrays = s.arrays.filter((a) => a !== ip);
      lines.push(DELETE_OK);
    }
    const vc = [c.vcenterIp, c.vcenterUser, c.vcenterPassword];
    if (vc.some((v) => v !== undefined) || c.vcenterPort !== undefined) {
      if (vc.some((v) => v === undefined)) throw SETTINGS_REQUEST_INVALID({ why: 'the vCenter Server IP address, user name and password are set together' });
      const port = c.vcenterPort ?? DEFAULT_VCENTER_PORT;
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw SETTINGS_VCENTER_INVALID({ what: 'HTTPS port', why: `${port} is not 1 to 65535` });
      s.vcenter = { ip: checkIpv4(c.vcenterIp), port, user: checkVcenterAccount('user name', c.vcenterUser) };
      s.vcenterPasswordHash = hash(checkVcenterAccount('password', c.vcenterPassword));
      lines.push(SET_OK);
    }
    if (c.interval !== undefined) {
      s.interval = checkInterval(c.interval);
      lines.push(SET_OK);
    }
    this.db.prepare('INSERT OR REPLACE INTO vvol_provider_settings (id, json) VALUES (1, ?)').run(JSON.stringify(s));
    const out = this.get();
    for (const l of this.listeners) l(out);
    return { settings: out, lines };
  }

  /** Whether a user name and password are the provider's account. */
  verify(user: string, password: string): boolean {
    const s = this.load();
    if (!s.user || !s.passwordHash || s.user !== user) return false;
    const [, salt, want] = s.passwordHash.split(':');
    const got = crypto.scryptSync(password, Buffer.from(salt!, 'hex'), 32);
    return crypto.timingSafeEqual(got, Buffer.from(want!, 'hex'));
  }
}
