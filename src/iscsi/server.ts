// The iSCSI target server: one target (the array) behind the portals of both
// controllers. It listens on every portal, answers SendTargets with all of
// them, binds logins to sessions (new, reinstated on the same ISID, or
// continued on a new connection), and turns session ends into I_T nexus loss
// for the SCSI layer.
import net from 'node:net';
import { ConnectionCap } from '../limits/conn-cap.js';
import { IoBudget } from '../limits/io-budget.js';
import type { ItNexus } from '../scsi/types.js';
import type { ChapConfig } from './chap.js';
import { Connection, DEFAULT_ISCSI_CONNECTION_IO } from './connection.js';
import type { ConnectionHost } from './connection.js';
import type { LoginRequestFields } from './login.js';
import { LOGIN_CANT_INCLUDE_IN_SESSION, LOGIN_OUT_OF_RESOURCES, LOGIN_SESSION_DOES_NOT_EXIST } from './pdu.js';
import { DEFAULT_OFFERS, isValidIscsiName } from './params.js';
import type { NegotiatedParams, TargetOffers } from './params.js';
import { Session } from './session.js';
import type { TextPair } from './text.js';
import type { PortalConfig, ScsiExecutor } from './types.js';
import {
  ISCSI_CONNECTION_CAP,
  MUTUAL_SECRET_WITHOUT_USER,
  PORTAL_ADDRESS_IN_USE,
  PORTAL_CANNOT_LISTEN,
  NO_PORTAL_NUMBER,
  NO_SUCH_PORTAL,
  PORTAL_GROUP_TAG_RANGE,
  PORTAL_TWICE,
  RELATIVE_PORT_ID_RANGE,
  TARGET_NAME_INVALID,
  TARGET_SECRET_WITHOUT_USER,
  TARGET_WITHOUT_PORTALS,
} from '../catalogue/protocols.js';

export type { PortalConfig, ScsiExecutor } from './types.js';

export interface IscsiTargetServerOptions {
  targetName: string;
  alias?: string;
  portals: PortalConfig[];
  scsi: ScsiExecutor;
  chap?: ChapConfig;
  log?: (msg: string) => void;
  /** Overrides of the values Kura offers in negotiation (tests use small bursts). */
  offers?: Partial<TargetOffers>;
  /** A connection that has not finished its login after this long is closed (default 30 s). */
  loginTimeoutMs?: number;
  /** NOP-In keepalive on idle connections; 0 turns it off (default 30 s). */
  keepaliveMs?: number;
  /** I/O buffer budget shared with the other front ends; a private one of the default size when absent. */
  ioBudget?: IoBudget;
  /** Bytes of write buffers and unsent Data-In one connection may hold (default 64 MiB). */
  connectionIoLimit?: number;
  /** Connections each portal keeps open at once; more are closed on accept (default 256). */
  maxConnectionsPerPortal?: number;
}

export const DEFAULT_ISCSI_MAX_CONNECTIONS = 256;

export interface SessionInfo {
  initiatorName: string;
  isid: string;
  tsih: number;
  portal: string;
  connections: number;
}

interface PortalRuntime {
  config: PortalConfig;
  /** Port actually bound (differs from config.port when that is 0). */
  boundPort: number;
  server: net.Server | null;
  up: boolean;
  conns: Set<Connection>;
  cap: ConnectionCap;
}

const MAX_SESSIONS = 4096;

export class IscsiTargetServer {
  private readonly opts: IscsiTargetServerOptions;
  private readonly portals: PortalRuntime[];
  private readonly byTsih = new Map<number, Session>();
  private readonly byKey = new Map<string, Session>();
  private nextTsih = 1;
  private readonly host: ConnectionHost;
  private closing = false;

  constructor(opts: IscsiTargetServerOptions) {
    if (!isValidIscsiName(opts.targetName)) {
      throw TARGET_NAME_INVALID({ arg: JSON.stringify(opts.targetName) });
    }
    if (opts.portals.length === 0) throw TARGET_WITHOUT_PORTALS();
    const seen = new Set<string>();
    for (const p of opts.portals) {
      const key = `${p.host}:${p.port}`;
      if (p.port !== 0 && seen.has(key)) throw PORTAL_TWICE({ key });
      seen.add(key);
      if (!(Number.isInteger(p.portalGroupTag) && p.portalGroupTag >= 1 && p.portalGroupTag <= 65535)) {
        throw PORTAL_GROUP_TAG_RANGE({ key, portalGroupTag: p.portalGroupTag });
      }
      if (!(Number.isInteger(p.relativeTargetPortId) && p.relativeTargetPortId >= 1 && p.relativeTargetPortId <= 65535)) {
        throw RELATIVE_PORT_ID_RANGE({ key, relativeTargetPortId: p.relativeTargetPortId });
      }
    }
    const chap = opts.chap;
    if (chap) {
      if (chap.targetSecret !== undefined && !chap.targetUser) throw TARGET_SECRET_WITHOUT_USER();
      if (chap.mutualSecret !== undefined && !chap.mutualUser) throw MUTUAL_SECRET_WITHOUT_USER();
    }
    this.opts = opts;
    const offers: TargetOffers = { ...DEFAULT_OFFERS, ...opts.offers };
    const log = opts.log ?? (() => undefined);
    const maxConns = opts.maxConnectionsPerPortal ?? DEFAULT_ISCSI_MAX_CONNECTIONS;
    this.portals = opts.portals.map((config) => ({
      config,
      boundPort: config.port,
      server: null,
      up: false,
      conns: new Set(),
      cap: new ConnectionCap(
        `iSCSI portal ${config.host}:${config.port} (controller ${config.controller})`,
        maxConns,
        log,
        ISCSI_CONNECTION_CAP,
        '--iscsi-max-connections',
      ),
    }));
    // The connections see the server only through this narrow host interface.
    this.host = {
      targetName: opts.targetName,
      alias: opts.alias,
      chap: opts.chap,
      offers,
      scsi: opts.scsi,
      loginTimeoutMs: opts.loginTimeoutMs ?? 30_000,
      keepaliveMs: opts.keepaliveMs ?? 30_000,
      ioBudget: opts.ioBudget ?? new IoBudget({ log }),
      connectionIoLimit: opts.connectionIoLimit ?? DEFAULT_ISCSI_CONNECTION_IO,
      log,
      bindSession: (conn, params, req) => this.bindSession(conn, params, req),
      connectionClosed: (conn) => this.connectionClosed(conn),
      sendTargets: (value, conn) => this.sendTargets(value, conn),
      coldReset: (from) => this.coldReset(from),
    };
  }

  /** Starts listening on every portal. */
  async listen(): Promise<void> {
    this.closing = false;
    for (const p of this.portals) if (!p.up) await this.listenPortal(p);
  }

  /** The portals with the ports they are bound to (useful when configured with port 0). */
  addresses(): Array<PortalConfig & { up: boolean }> {
    return this.portals.map((p) => ({ ...p.config, port: p.boundPort, up: p.up }));
  }

  private listenPortal(p: PortalRuntime): Promise<void> {
    const srv = net.createServer({ noDelay: true }, (sock) => this.accept(p, sock));
    srv.on('error', (e) => this.host.log(`iscsi: portal ${p.config.host}:${p.boundPort}: ${e.message}`));
    return new Promise((resolve, reject) => {
      const fail = (e: NodeJS.ErrnoException): void => {
        const where = { host: p.config.host, boundPort: p.boundPort, reason: e.message };
        reject(e.code === 'EADDRINUSE' ? PORTAL_ADDRESS_IN_USE(where) : PORTAL_CANNOT_LISTEN(where));
      };
      srv.once('error', fail);
      srv.listen(p.boundPort, p.config.host, () => {
        srv.off('error', fail);
        p.boundPort = (srv.address() as net.AddressInfo).port;
        p.server = srv;
        p.up = true;
        resolve();
      });
    });
  }

  /** Serves a connection as if accepted on portal `index` (the parser fuzz test hands it in-memory sockets). */
  attach(sock: net.Socket, index = 0): void {
    const p = this.portals[index];
    if (!p) throw NO_PORTAL_NUMBER({ index, arg: this.portals.length - 1 });
    this.accept(p, sock);
  }

  private accept(p: PortalRuntime, sock: net.Socket): void {
    if (!p.up || this.closing || !p.cap.admit()) {
      sock.on('error', () => undefined);
      sock.destroy();
      return;
    }
    const conn = new Connection(sock, { ...p.config, port: p.boundPort }, this.host);
    p.conns.add(conn);
    void conn.closed.then(() => {
      p.conns.delete(conn);
      p.cap.release();
    });
  }

  /** Stops every listener and drops every connection. */
  async close(): Promise<void> {
    this.closing = true;
    const waits: Promise<void>[] = [];
    for (const p of this.portals) waits.push(this.stopPortal(p));
    await Promise.all(waits);
  }

  private async stopPortal(p: PortalRuntime): Promise<void> {
    p.up = false;
    const srv = p.server;
    p.server = null;
    const conns = [...p.conns];
    for (const c of conns) c.destroy();
    await Promise.all(conns.map((c) => c.closed));
    if (srv) await new Promise<void>((r) => srv.close(() => r()));
  }

  private findPortal(host: string, port: number): PortalRuntime {
    const p = this.portals.find((x) => x.config.host === host && (x.boundPort === port || x.config.port === port));
    if (!p) throw NO_SUCH_PORTAL({ host, port });
    return p;
  }

  /** Takes a portal down: its connections drop and it accepts none until portalUp. */
  portalDown(host: string, port: number): void {
    const p = this.findPortal(host, port);
    if (!p.up) return;
    this.host.log(`iscsi: portal ${host}:${p.boundPort} down`);
    void this.stopPortal(p);
  }

  async portalUp(host: string, port: number): Promise<void> {
    const p = this.findPortal(host, port);
    if (p.up) return;
    await this.listenPortal(p);
    this.host.log(`iscsi: portal ${host}:${p.boundPort} up`);
  }

  sessions(): SessionInfo[] {
    const out: SessionInfo[] = [];
    for (const s of this.byTsih.values()) {
      if (s.type !== 'Normal' || s.state !== 'active') continue;
      const c = s.connection;
      out.push({ initiatorName: s.initiatorName, isid: s.isidHex, tsih: s.tsih, portal: c ? `${c.portal.host}:${c.portal.port}` : '', connections: c ? 1 : 0 });
    }
    return out;
  }

  // ---- sessions ----

  private allocTsih(): number | undefined {
    for (let i = 0; i < 0xffff; i++) {
      const t = this.nextTsih;
      this.nextTsih = this.nextTsih >= 0xffff ? 1 : this.nextTsih + 1;
      if (!this.byTsih.has(t)) return t;
    }
    return undefined;
  }

  private nexusFor(initiatorName: string, isid: Buffer, portal: PortalConfig): ItNexus {
    return {
      initiatorPort: `${initiatorName},i,0x${isid.toString('hex')}`,
      initiatorName,
      relativeTargetPortId: portal.relativeTargetPortId,
      targetPort: `${this.opts.targetName},t,0x${portal.portalGroupTag.toString(16).padStart(4, '0')}`,
      targetPortGroup: portal.controller,
    };
  }

  private bindSession(conn: Connection, params: NegotiatedParams, req: LoginRequestFields): { session: Session } | { status: number; reason: string } {
    const initiatorName = params.initiatorName!;
    const tpgt = conn.portal.portalGroupTag;
    const key = Session.key(initiatorName, req.isid, tpgt);
    if (req.tsih !== 0) {
      // A connection joining (or replacing one of) an existing session.
      const s = this.byTsih.get(req.tsih);
      if (!s || s.key !== key || s.state !== 'active')
        return { status: LOGIN_SESSION_DOES_NOT_EXIST, reason: `no session with TSIH ${req.tsih} for this initiator and ISID` };
      const old = s.connection;
      if (old && old.cid !== req.cid) return { status: LOGIN_CANT_INCLUDE_IN_SESSION, reason: 'the session already has its one connection (MaxConnections=1)' };
      // Connection reinstatement (RFC 7143 6.3.4): the old connection and its tasks go, the session stays.
      if (old) {
        s.connection = undefined;
        for (const t of [...s.tasks.values()]) old.abortTask(t);
        old.destroy();
      }
      s.clearQueue();
      s.expCmdSN = req.cmdSN >>> 0;
      s.connection = conn;
      this.host.log(`iscsi: ${initiatorName} isid ${s.isidHex} tsih ${s.tsih}: connection reinstated from ${conn.remote}`);
      return { session: s };
    }
    if (this.byTsih.size >= MAX_SESSIONS) return { status: LOGIN_OUT_OF_RESOURCES, reason: 'too many sessions' };
    if (params.sessionType === 'Normal') {
      const old = this.byKey.get(key);
      // Session reinstatement (RFC 7143 6.3.5): the same initiator and ISID with TSIH 0 replaces the old session.
      if (old) this.endSession(old, 'reinstated by a new login');
    }
    const tsih = this.allocTsih();
    if (tsih === undefined) return { status: LOGIN_OUT_OF_RESOURCES, reason: 'no free TSIH' };
    const nexus = this.nexusFor(initiatorName, req.isid, conn.portal);
    const s = new Session(
      { initiatorName, isid: Buffer.from(req.isid), tsih, targetName: this.opts.targetName, portalGroupTag: tpgt },
      params,
      req.cmdSN,
      nexus,
    );
    s.connection = conn;
    this.byTsih.set(tsih, s);
    if (s.type === 'Normal') {
      this.byKey.set(key, s);
      this.opts.scsi.nexusCreated(nexus);
      this.host.log(
        `iscsi: session ${tsih} for ${initiatorName} isid ${s.isidHex} on ${conn.portal.host}:${conn.portal.port} from ${conn.remote} (HeaderDigest=${params.headerDigest ? 'CRC32C' : 'None'} DataDigest=${params.dataDigest ? 'CRC32C' : 'None'})`,
      );
    }
    return { session: s };
  }

  private endSession(s: Session, why: string): void {
    if (s.state === 'closed') return;
    s.state = 'closed';
    s.clearQueue();
    if (this.byTsih.get(s.tsih) === s) this.byTsih.delete(s.tsih);
    if (this.byKey.get(s.key) === s) this.byKey.delete(s.key);
    const c = s.connection;
    s.connection = undefined;
    if (c) {
      for (const t of [...s.tasks.values()]) c.abortTask(t);
      // A logged-out connection is closing by itself after its last response.
      if (c.state !== 'logged-out') c.destroy();
    }
    if (s.type === 'Normal') {
      this.host.log(`iscsi: session ${s.tsih} for ${s.initiatorName} isid ${s.isidHex} ended: ${why}`);
      try {
        this.opts.scsi.taskManagement(s.nexus, 'nexus-loss');
      } catch (e) {
        this.host.log(`iscsi: nexus loss for session ${s.tsih} failed: ${(e as Error).message}`);
      }
    }
  }

  private connectionClosed(conn: Connection): void {
    const s = conn.session;
    // ErrorRecoveryLevel 0: a session does not outlive its only connection.
    if (s && s.connection === conn) this.endSession(s, 'connection closed');
  }

  private coldReset(from: Connection): void {
    this.host.log(`iscsi: TARGET COLD RESET from ${from.remote}: dropping every connection`);
    // After the response is on its way (RFC 7143 11.5.1): flush, then drop.
    setImmediate(() => {
      for (const s of [...this.byTsih.values()]) this.endSession(s, 'target cold reset');
      for (const p of this.portals) for (const c of [...p.conns]) c.destroy();
    });
  }

  // ---- discovery ----

  /**
   * SendTargets (RFC 7143 Appendix C): "All" (or the empty value, or this
   * target's name) lists the target with every portal that is up as
   * host:port,tpgt; another well-formed name lists nothing; anything else is
   * rejected.
   */
  private sendTargets(value: string, conn: Connection): TextPair[] | 'reject' {
    const name = this.opts.targetName;
    const ours = value === 'All' || value === '' || value.toLowerCase() === name.toLowerCase();
    if (!ours) return isValidIscsiName(value) ? [] : 'reject';
    const pairs: TextPair[] = [['TargetName', name]];
    for (const p of this.portals) {
      if (!p.up) continue;
      let host = p.config.host;
      if (host === '0.0.0.0' || host === '::' || host === '') host = conn.sock.localAddress ?? host;
      if (host.startsWith('::ffff:')) host = host.slice(7);
      const addr = host.includes(':') ? `[${host}]` : host;
      pairs.push(['TargetAddress', `${addr}:${p.boundPort},${p.config.portalGroupTag}`]);
    }
    return pairs;
  }
}
