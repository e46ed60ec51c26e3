// A long-lived initiator session for one portal and target, built on the raw
// IscsiInitiator: it respects the target's command window (MaxCmdSN) so many
// commands can be in flight, gives every command a timeout, sends NOP-Out
// keepalives while idle, and logs in again with backoff after the connection
// is lost. The ISID stays the same across reconnects so the I_T nexus (and so
// any persistent-reservation registration made through it) is the same one.
import crypto from 'node:crypto';
import { IscsiInitiator } from './initiator.js';
import type { CommandOptions, CommandResult } from './initiator.js';
import * as P from './pdu.js';
import { DISCOVERY_FAILED } from '../catalogue/pathmgr.js';
import { TARGET_FAILED_MUTUAL_CHAP } from '../catalogue/protocols.js';

export interface SessionOptions {
  host: string;
  port: number;
  targetName: string;
  initiatorName: string;
  /** One-way CHAP credentials, and with `mutual` the target's, which the target must prove. */
  chap?: { user: string; secret: string; mutual?: { user: string; secret: string } };
  /** A command not answered within this is failed and the connection dropped (default 10 s). */
  commandTimeoutMs?: number;
  /** Idle time before a NOP-Out keepalive; 0 disables (default 5 s). */
  keepaliveMs?: number;
  /** Time a keepalive may take before the connection counts as dead (default 5 s). */
  keepaliveTimeoutMs?: number;
  /** Connect + login budget (default 5 s). */
  loginTimeoutMs?: number;
}

/** A transport-level failure: the path (not the logical unit) is at fault. */
export class PathTransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PathTransportError';
  }
}

/** The login was refused for its credentials (the target's CHAP check), or the target failed the mutual one. */
export class PathAuthError extends PathTransportError {
  constructor(
    message: string,
    readonly side: 'initiator' | 'target',
  ) {
    super(message);
    this.name = 'PathAuthError';
  }
}

/** Login status class 2 (initiator error), details 1 and 2: authentication and authorization failure. */
const AUTH_FAILURES = new Set([0x0201, 0x0202]);

export class InitiatorSession {
  private ini: IscsiInitiator | undefined;
  private connecting: Promise<IscsiInitiator> | undefined;
  private readonly isid: Buffer;
  private readonly waiting: Array<() => void> = [];
  private keepalive: NodeJS.Timeout | undefined;
  private lastActivity = Date.now();
  private closed = false;
  /** Commands sent and not answered yet. */
  inflight = 0;
  /** Called once each time an established connection is lost. */
  onLost: ((why: string) => void) | undefined;

  constructor(readonly opts: SessionOptions) {
    this.isid = Buffer.concat([Buffer.from([0x80]), crypto.randomBytes(3), Buffer.from([0, 0])]);
  }

  get connected(): boolean {
    return this.ini !== undefined && this.ini.closedError === undefined;
  }

  /** Connects and logs in (once; concurrent callers share the attempt). */
  open(): Promise<IscsiInitiator> {
    if (this.closed) return Promise.reject(new PathTransportError('session closed'));
    if (this.ini && !this.ini.closedError) return Promise.resolve(this.ini);
    this.connecting ??= this.login().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async login(): Promise<IscsiInitiator> {
    const o = this.opts;
    const budget = o.loginTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    let made: IscsiInitiator | undefined;
    const attempt = (async () => {
      const ini = await IscsiInitiator.connect(o.host, o.port);
      made = ini;
      const r = await ini.login({ initiatorName: o.initiatorName, targetName: o.targetName, isid: this.isid, chap: o.chap });
      if (AUTH_FAILURES.has(r.status)) {
        ini.close();
        throw new PathAuthError(
          `login to ${o.host}:${o.port} was refused: ${r.status === 0x0201 ? 'authentication' : 'authorization'} failure (status 0x${r.status.toString(16).padStart(4, '0')})`,
          'initiator',
        );
      }
      if (r.status !== 0) {
        ini.close();
        throw new PathTransportError(`login to ${o.host}:${o.port} refused (status 0x${r.status.toString(16).padStart(4, '0')})`);
      }
      return ini;
    })();
    try {
      const ini = await Promise.race([
        attempt,
        new Promise<never>((_r, reject) => {
          timer = setTimeout(() => reject(new PathTransportError(`login to ${o.host}:${o.port} took longer than ${budget} ms`)), budget);
        }),
      ]);
      this.adopt(ini);
      return ini;
    } catch (e) {
      made?.close();
      attempt.catch(() => undefined);
      if (e instanceof PathTransportError) throw e;
      // The initiator's check of the target's mutual CHAP answer.
      if ((e as { id?: string }).id === TARGET_FAILED_MUTUAL_CHAP.id)
        throw new PathAuthError(`cannot log in to ${o.host}:${o.port}: ${(e as Error).message}`, 'target');
      throw new PathTransportError(`cannot log in to ${o.host}:${o.port}: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private adopt(ini: IscsiInitiator): void {
    this.ini = ini;
    this.lastActivity = Date.now();
    ini.sock.once('close', () => {
      if (this.ini === ini) {
        this.ini = undefined;
        this.stopKeepalive();
        // Commands held back for the window will never get one on this connection.
        for (const w of this.waiting.splice(0)) w();
        if (!this.closed) this.onLost?.(ini.closedError?.message ?? 'connection closed');
      }
    });
    this.startKeepalive();
  }

  /**
   * Logs in again, retrying with exponential backoff (from 100 ms, doubling,
   * capped at 2 s) until it works or `budgetMs` has passed.
   */
  async reconnect(budgetMs: number): Promise<void> {
    const end = Date.now() + budgetMs;
    let wait = 100;
    for (;;) {
      try {
        await this.open();
        return;
      } catch (e) {
        if (this.closed || Date.now() + wait > end) throw e;
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, 2000);
      }
    }
  }

  private startKeepalive(): void {
    const every = this.opts.keepaliveMs ?? 5000;
    if (every <= 0) return;
    this.stopKeepalive();
    this.keepalive = setInterval(
      () => {
        const ini = this.ini;
        if (!ini || this.inflight > 0 || Date.now() - this.lastActivity < every) return;
        this.lastActivity = Date.now();
        const limit = this.opts.keepaliveTimeoutMs ?? 5000;
        let t: NodeJS.Timeout | undefined;
        Promise.race([ini.nop(), new Promise((_r, reject) => (t = setTimeout(() => reject(new Error('keepalive timed out')), limit)))])
          .catch(() => ini.close())
          .finally(() => clearTimeout(t));
      },
      Math.max(250, Math.floor(every / 2)),
    );
    this.keepalive.unref();
  }

  private stopKeepalive(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = undefined;
  }

  /** Waits until the target's window admits one more command. */
  private async windowOpen(ini: IscsiInitiator): Promise<void> {
    while (ini.closedError === undefined && P.snLt(ini.maxCmdSN, ini.cmdSN)) {
      await new Promise<void>((r) => this.waiting.push(r));
    }
  }

  /** Runs one SCSI command; rejects with PathTransportError when the path fails or times out. */
  async command(o: CommandOptions & { timeoutMs?: number }): Promise<CommandResult> {
    const ini = await this.open();
    this.inflight++;
    try {
      await this.windowOpen(ini);
      if (ini.closedError) throw new PathTransportError(`connection to ${this.opts.host}:${this.opts.port} lost: ${ini.closedError.message}`);
      const limit = o.timeoutMs ?? this.opts.commandTimeoutMs ?? 10_000;
      let t: NodeJS.Timeout | undefined;
      const sent = ini.command(o);
      try {
        return await Promise.race([
          sent,
          new Promise<never>((_r, reject) => {
            t = setTimeout(() => {
              // ERL 0 has no way to recover one task: drop the connection (the target aborts its tasks).
              ini.close();
              reject(new PathTransportError(`command timed out after ${limit} ms on ${this.opts.host}:${this.opts.port}`));
            }, limit);
          }),
        ]);
      } catch (e) {
        sent.catch(() => undefined);
        if (e instanceof PathTransportError) throw e;
        throw new PathTransportError(`connection to ${this.opts.host}:${this.opts.port} lost: ${(e as Error).message}`);
      } finally {
        clearTimeout(t);
      }
    } finally {
      this.inflight--;
      this.lastActivity = Date.now();
      this.waiting.shift()?.();
    }
  }

  /** Drops the connection (a test of failure handling, or a stuck path). */
  drop(): void {
    this.ini?.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopKeepalive();
    const ini = this.ini;
    this.ini = undefined;
    if (!ini) return;
    if (!ini.closedError) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([ini.logout().catch(() => undefined), new Promise((r) => (t = setTimeout(r, 1000)))]);
      clearTimeout(t);
    }
    ini.close();
  }
}

/** Discovery: asks a portal which targets it offers (Text SendTargets=All). */
export async function sendTargets(host: string, port: number, initiatorName: string, timeoutMs = 5000): Promise<string[]> {
  let ini: IscsiInitiator | undefined;
  let t: NodeJS.Timeout | undefined;
  const work = (async () => {
    ini = await IscsiInitiator.connect(host, port);
    const r = await ini.login({ initiatorName, sessionType: 'Discovery' });
    if (r.status !== 0) throw new Error(`discovery login refused (status 0x${r.status.toString(16)})`);
    const pairs = await ini.text([['SendTargets', 'All']]);
    await ini.logout().catch(() => undefined);
    return pairs.filter(([k]) => k === 'TargetName').map(([, v]) => v);
  })();
  try {
    return await Promise.race([work, new Promise<never>((_r, reject) => (t = setTimeout(() => reject(new Error('discovery timed out')), timeoutMs)))]);
  } catch (e) {
    work.catch(() => undefined);
    throw DISCOVERY_FAILED({ host, port, reason: (e as Error).message });
  } finally {
    clearTimeout(t);
    ini?.close();
  }
}
