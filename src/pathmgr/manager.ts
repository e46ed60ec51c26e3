// The path manager: discovers the paths behind the configured portals,
// groups them by the logical unit's VPD 0x83 designator into multipath
// devices, runs the patrol (health and recovery checks), and carries out the
// administrator's changes (states, priorities, policies, modes, persistent
// reservations).
import { InitiatorSession, PathAuthError, sendTargets } from '../iscsi/initiator-session.js';
import { MultipathDevice } from './device.js';
import type { DeviceSettings, EventLevel } from './device.js';
import type { PathLog } from './log.js';
import { Path } from './path.js';
import type { PathAluaState } from './path.js';
import { POLICIES } from './policy.js';
import type { Policy } from './policy.js';
import * as S from '../scsi/spec/index.js';
import { aluaChanged, mayHaveChangedLu } from './sense-policy.js';
import { loadState, saveState } from './state-file.js';
import type { SavedState } from './state-file.js';
import { PATHD_CHAP_FAILED, PATHD_TARGET_CHAP_FAILED } from '../catalogue/cli.js';
import {
  DEVICE_HAS_NO_USABLE_PATH,
  FAILBACK_FAILED,
  FAILBACK_UNKNOWN,
  GROUPING_UNKNOWN,
  NO_PATH_RETRY_RANGE,
  NO_SUCH_DEVICE,
  NO_SUCH_PATH,
  PATH_FAILED_REFUSED,
  PATH_REF_AMBIGUOUS,
  PATH_SET_FAILED,
  PATH_SET_REFUSED_FAILED,
  PATROL_RANGE,
  PATROL_ROUND_FAILED,
  PERSIST_ACTION_UNKNOWN,
  PERSIST_KEY_INVALID,
  PERSIST_NEEDS_KEY,
  POLICY_REFUSED_UNKNOWN,
  POLICY_UNKNOWN,
  PORTAL_DISCOVERY_FAILED,
  PRIORITY_CHANGE_FAILED,
  PRIORITY_RANGE,
  PRIORITY_TAKEN,
  PR_KEY_REGISTER_FAILED,
  RECOVERY_CHECK_FAILED,
  RESERVATION_TYPE_UNKNOWN,
  STATE_FILE_WRITE_FAILED,
  SWAP_ACROSS_LUS,
  TARGET_DISCOVERY_FAILED,
} from '../catalogue/pathmgr.js';

export interface Portal {
  host: string;
  port: number;
}

export interface WatcherSettings {
  healthCheck: boolean;
  recoveryCheck: boolean;
  /** Seconds between patrol rounds (the seed's request interval). */
  interval: number;
  /** Seconds a path must be idle before the health check sends it a monitoring command. */
  threshold: number;
  /** Seconds a monitoring command may take. */
  timeout: number;
}

export interface PathManagerOptions {
  portals: Portal[];
  initiatorName: string;
  /** CHAP credentials pathd's initiator logs in with; `mutual`: what the target must answer with. */
  chap?: { user: string; secret: string; mutual?: { user: string; secret: string } };
  log: PathLog;
  watcher?: Partial<WatcherSettings>;
  settings?: Partial<DeviceSettings>;
  policy?: Policy;
  /** Where priorities, policies, administrator states and reservation keys are kept across restarts. */
  stateFile?: string;
  /** Idle time before a NOP-Out keepalive on each session (default 5000 ms). */
  keepaliveMs?: number;
}

export const DEFAULT_WATCHER: WatcherSettings = { healthCheck: true, recoveryCheck: true, interval: 60, threshold: 60, timeout: 120 };

export const DEFAULT_SETTINGS: DeviceSettings = {
  noPathRetryMs: 30_000,
  failback: 'auto',
  cluster: false,
  grouping: 'alua',
  marginalFailures: 5,
  marginalWindowMs: 60_000,
  marginalHoldMs: 30_000,
  commandTimeoutMs: 10_000,
};

export class PathManager {
  readonly devices: MultipathDevice[] = [];
  readonly watcher: WatcherSettings;
  readonly settings: DeviceSettings;
  private readonly sessions = new Map<string, InitiatorSession>();
  private timer: NodeJS.Timeout | undefined;
  private recovering: Promise<void> | undefined;
  private lastRecovery = 0;
  private closed = false;
  private readonly defaultPolicy: Policy;
  private readonly saved: SavedState;
  /** Numbers devices (LogicalUnit #N, export names) so a removed device's number is not reused. */
  private deviceCount = 0;

  constructor(private readonly opts: PathManagerOptions) {
    this.watcher = { ...DEFAULT_WATCHER, ...opts.watcher };
    this.settings = { ...DEFAULT_SETTINGS, ...opts.settings };
    this.defaultPolicy = opts.policy ?? 'failover';
    this.saved = loadState(opts.stateFile);
  }

  /** Records the current per-device settings in the state file. */
  private persistState(): void {
    for (const d of this.devices) {
      const prev = this.saved.devices[d.id]?.paths ?? {};
      const paths: SavedState['devices'][string]['paths'] = { ...prev };
      for (const p of d.paths) {
        const key = pathKey(p);
        const admin = p.adminUnavailable ? 'unavailable' : p.priorityDisabled ? 'standby' : undefined;
        paths[key] = { priority: p.priority, ...(admin ? { admin } : {}) };
      }
      this.saved.devices[d.id] = { policy: d.policy, ...(d.prKey !== undefined ? { prKey: `0x${d.prKey.toString(16)}` } : {}), paths };
    }
    try {
      saveState(this.opts.stateFile, this.saved);
    } catch (e) {
      this.event('warning', STATE_FILE_WRITE_FAILED.id, STATE_FILE_WRITE_FAILED({ stateFile: this.opts.stateFile, reason: (e as Error).message }));
    }
  }

  private registrations: Array<Promise<unknown>> = [];

  event(level: EventLevel, id: string, text: string, seed?: number): void {
    this.opts.log.event(level, id, text, seed);
  }

  private session(portal: Portal, target: string): InitiatorSession {
    const key = `${portal.host}:${portal.port}/${target}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = new InitiatorSession({
        host: portal.host,
        port: portal.port,
        targetName: target,
        initiatorName: this.opts.initiatorName,
        chap: this.opts.chap,
        commandTimeoutMs: this.settings.commandTimeoutMs,
        keepaliveMs: this.opts.keepaliveMs ?? 5000,
        keepaliveTimeoutMs: Math.max(this.opts.keepaliveMs ?? 5000, 500),
      });
      this.sessions.set(key, s);
    }
    return s;
  }

  /** The rescan running now; rescans run one at a time. */
  private scanning: Promise<number> | undefined;
  /** A rescan asked for (REPORTED LUNS DATA HAS CHANGED) while one runs: it follows. */
  private rescanWanted = false;

  /**
   * Finds every path behind the portals and groups new ones into devices;
   * removes known paths whose LUN no longer holds their LU. Behind each LU that
   * is the administrative LU of a LUN conglomerate (a VVOL protocol endpoint,
   * LU_CONG set) it finds the subsidiary LUs bound for this host (REPORT LUNS
   * 12h): each is a device like any LU, exported under its NAA id, and closed
   * when it is no longer reported on any path. Returns how many paths were added.
   */
  async rescan(): Promise<number> {
    while (this.scanning) await this.scanning.catch(() => 0);
    this.scanning = this.rescanOnce();
    try {
      return await this.scanning;
    } finally {
      this.scanning = undefined;
    }
  }

  /** Asks for a rescan soon (a LUN conglomerate may have changed); coalesces requests. */
  wantRescan(): void {
    if (this.closed) return;
    if (this.scanning) {
      this.rescanWanted = true;
      return;
    }
    void this.rescan()
      .catch((e: Error) => this.event('warning', PATROL_ROUND_FAILED.id, PATROL_ROUND_FAILED({ reason: `rescan: ${e.message}` })))
      .finally(() => {
        if (this.rescanWanted) {
          this.rescanWanted = false;
          this.wantRescan();
        }
      });
  }

  /** True when some known path leads to the administrative LU of a LUN conglomerate. */
  private hasConglomerates(): boolean {
    return this.allPaths().some((x) => x.path.administrative);
  }

  private async rescanOnce(): Promise<number> {
    const known = new Map(this.allPaths().map((x) => [pathKey(x.path), x]));
    const found: Array<{ id: string; path: Path; blockSize: number; blockCount: number; conglomerate?: { pe: string; slu: number } }> = [];
    const removed: Array<{ dev: MultipathDevice; path: Path; why: string }> = [];
    for (const [pi, portal] of this.opts.portals.entries()) {
      const name = `${portal.host}:${portal.port}`;
      let targets: string[];
      try {
        targets = await sendTargets(portal.host, portal.port, this.opts.initiatorName);
      } catch (e) {
        this.event('warning', PORTAL_DISCOVERY_FAILED.id, PORTAL_DISCOVERY_FAILED({ name, reason: (e as Error).message }));
        continue;
      }
      for (const [ti, target] of targets.entries()) {
        const session = this.session(portal, target);
        try {
          await session.open();
          const single = await this.reportLuns(session);
          if (!single) throw new Error('REPORT LUNS failed');
          const cong = await this.conglomerates(session, single);
          const luns = [...single, ...cong.subsidiaries.keys()];
          for (const x of known.values()) {
            if (x.path.session !== session) continue;
            const lun = x.path.lun;
            // A PE whose REPORT LUNS 12h failed this time: what was behind it stays until it answers again.
            if (S.isSubsidiaryLun(lun) && cong.unanswered.has(S.lunParts(lun).admin)) continue;
            if (!luns.includes(lun)) removed.push({ ...x, why: `LUN ${S.lunText(lun)} is no longer reported by ${target} on ${name}` });
            else if (x.path.identityLost) removed.push({ ...x, why: `LUN ${S.lunText(lun)} holds another logical unit now` });
          }
          for (const lun of luns) {
            const k = `${name}/${target}/${lun}`;
            const have = known.get(k);
            if (have) have.path.administrative = cong.pes.has(lun);
            if (have && !have.path.identityLost) continue;
            const probed = await this.probe(session, lun);
            if (!probed) continue;
            const path = new Path(`${pi}:0:${ti}:${lun}`, name, target, lun, session, 0);
            path.relativeTargetPortId = probed.ident.relativeTargetPortId;
            path.targetPortGroup = probed.ident.targetPortGroup;
            path.alua = probed.alua;
            path.administrative = cong.pes.has(lun);
            const pe = cong.subsidiaries.get(lun);
            found.push({
              id: probed.ident.id,
              path,
              blockSize: probed.blockSize,
              blockCount: probed.blockCount,
              conglomerate: pe === undefined ? undefined : { pe, slu: S.lunParts(lun).slu },
            });
          }
        } catch (e) {
          if (e instanceof PathAuthError) this.event('error', PATHD_CHAP_FAILED.id, this.authFailureText(e, target, name));
          else this.event('warning', TARGET_DISCOVERY_FAILED.id, TARGET_DISCOVERY_FAILED({ target, name, reason: (e as Error).message }));
        }
        session.onLost = (why) => this.onSessionLost(session, why);
      }
    }
    for (const r of removed) r.dev.removePath(r.path, r.why);
    // A subsidiary LU no path reports any more was unbound from this host: its export closes.
    for (const d of [...this.devices]) {
      if (!d.conglomerate || d.paths.length > 0 || !removed.some((r) => r.dev === d)) continue;
      d.retire(`subsidiary LU ${d.conglomerate.slu} of ${d.conglomerate.pe} is no longer bound for this host`);
      this.devices.splice(this.devices.indexOf(d), 1);
    }
    // The seed numbers a logical unit's paths in the order they are found (PM L82-87); Kura looks
    // at ports in the ALUA optimized state first, so the first path, the one in use, is the owner's.
    found.sort((a, b) => a.path.aluaRank - b.path.aluaRank);
    for (const f of found) this.addPath(f.id, f.path, f.blockSize, f.blockCount, f.conglomerate);
    await Promise.all(this.registrations.splice(0));
    for (const d of this.devices) d.watchRedundancy();
    if (found.length > 0 || removed.length > 0) this.persistState();
    return found.length;
  }

  /** Says which credentials to check: a CHAP failure is a configuration error, not a path fault. */
  private authFailureText(e: PathAuthError, target: string, portal: string): string {
    const chap = this.opts.chap;
    const initiator = this.opts.initiatorName;
    if (e.side === 'target') return PATHD_TARGET_CHAP_FAILED({ initiator, target, portal, user: chap?.mutual?.user ?? '?' });
    const who = chap ? `with CHAP user ${chap.user}` : 'without CHAP credentials';
    return PATHD_CHAP_FAILED({ initiator, target, portal, who, reason: e.message });
  }

  private async cmd(session: InitiatorSession, lun: number, cdb: Buffer, readLength: number): Promise<Buffer | undefined> {
    for (let i = 0; i < 8; i++) {
      const r = await session.command({ lun, cdb, readLength, timeoutMs: this.watcher.timeout * 1000 });
      if (r.status === S.GOOD) return r.dataIn;
      const s = S.parseSense(r.sense);
      if (r.status === S.CHECK_CONDITION && s?.key === S.UNIT_ATTENTION) continue;
      return undefined;
    }
    return undefined;
  }

  /** The LUNs the target reports, or undefined when it could not be asked (not the same as none). */
  private async reportLuns(session: InitiatorSession): Promise<number[] | undefined> {
    const d = await this.cmd(session, 0, S.cdb.reportLuns(0, 4096), 4096);
    return d ? S.parseReportLuns(d).filter((l) => l >= 0 && !S.isSubsidiaryLun(l)) : undefined;
  }

  /**
   * The administrative LUs among the LUNs (LU_CONG in standard INQUIRY data), each
   * with its id (EUI-64 when it has one), and the subsidiary LUs REPORT LUNS 12h
   * lists behind them, mapped to their PE's id. PEs that did not answer 12h are
   * `unanswered`: what was found behind them before is kept.
   */
  private async conglomerates(
    session: InitiatorSession,
    luns: number[],
  ): Promise<{ pes: Map<number, string>; subsidiaries: Map<number, string>; unanswered: Set<number> }> {
    const pes = new Map<number, string>();
    const subsidiaries = new Map<number, string>();
    const unanswered = new Set<number>();
    for (const lun of luns) {
      const std = await this.cmd(session, lun, S.cdb.inquiry(false, 0, 96), 96);
      if (!std || !S.isLuConglomerate(std)) continue;
      const vpd = await this.cmd(session, lun, S.cdb.inquiry(true, S.VPD_DEVICE_IDENTIFICATION, 1024), 1024);
      const ident = vpd ? S.parseDeviceIdentification(vpd) : undefined;
      const pe = ident?.eui ?? ident?.id ?? `LUN ${lun}`;
      pes.set(lun, pe);
      const list = await this.cmd(session, lun, S.cdb.reportLuns(S.SELECT_REPORT_CONGLOMERATE, 65536), 65536);
      if (!list) {
        unanswered.add(lun);
        continue;
      }
      for (const s of S.parseReportLuns(list)) if (S.isSubsidiaryLun(s) && S.lunParts(s).admin === lun) subsidiaries.set(s, pe);
    }
    return { pes, subsidiaries, unanswered };
  }

  private async probe(session: InitiatorSession, lun: number) {
    const vpd = await this.cmd(session, lun, S.cdb.inquiry(true, S.VPD_DEVICE_IDENTIFICATION, 1024), 1024);
    const ident = vpd ? S.parseDeviceIdentification(vpd) : undefined;
    if (!ident) return undefined;
    const data = await this.cmd(session, lun, S.cdb.readCapacity16(), 32);
    const cap = data ? S.parseReadCapacity16(data) : undefined;
    if (!cap) return undefined;
    const { blockCount, blockSize } = cap;
    const rtpg = await this.cmd(session, lun, S.cdb.reportTargetPortGroups(), 1024);
    const alua: PathAluaState = (rtpg ? S.aluaStateOf(rtpg, ident.targetPortGroup, ident.relativeTargetPortId) : undefined) ?? 'unknown';
    return { ident, blockCount, blockSize, alua };
  }

  private addPath(id: string, path: Path, blockSize: number, blockCount: number, conglomerate?: { pe: string; slu: number }): void {
    let dev = this.devices.find((d) => d.id === id);
    if (!dev) {
      const index = this.deviceCount++;
      // A subsidiary LU (a bound VVOL) is exported under its NAA id, the VVOL's id, so a hypervisor finds it by that.
      const name = conglomerate ? id : exportName(index);
      dev = new MultipathDevice(
        id,
        name,
        [],
        blockSize,
        blockCount,
        this.defaultPolicy,
        {
          event: (l, i, t, seed) => this.event(l, i, t, seed),
          wantRecovery: () => this.kickRecovery(),
          settings: () => this.settings,
          lunsChanged: () => this.wantRescan(),
        },
        index,
      );
      dev.conglomerate = conglomerate;
      this.devices.push(dev);
      this.event('info', 'KURA-I7014', `new multipath device ${name} for logical unit ${id} (${blockCount} blocks of ${blockSize} bytes)`);
      const saved = this.saved.devices[id];
      if (saved?.policy && POLICIES.includes(saved.policy as Policy) && !(this.settings.cluster && saved.policy !== 'failover'))
        dev.selector.policy = saved.policy as Policy;
      if (saved?.prKey) {
        try {
          dev.prKey = BigInt(saved.prKey);
        } catch {
          // A damaged entry: the key must be registered again by hand.
        }
      }
    }
    const { priority, enabled, admin } = this.initialPriority(dev, path);
    path.priority = priority;
    if (admin === 'unavailable') {
      path.adminUnavailable = true;
      path.setState('unavailable', 'set by the administrator');
    } else if (!enabled) {
      path.priorityDisabled = true;
      path.setState(
        'standby',
        admin === 'standby' ? 'priority disabled' : 'priority disabled: not the first path found (kura path set P available enables it)',
      );
    }
    dev.addPath(path);
    this.event(
      'info',
      'KURA-I7015',
      `${dev.name}: path ${path.number} via ${path.portal} added (priority ${priority}${enabled ? '' : ', disabled'}, ALUA ${path.alua})`,
    );
    // Registered before the path is offered to I/O (rescan awaits this).
    if (dev.prKey !== undefined) this.registrations.push(this.registerKeyOn(dev, path));
  }

  /**
   * The seed's initial settings (PM L84-87): the first path found in a logical unit
   * gets priority 1 and is enabled; each later one gets the next priority up and is
   * disabled (standby). A known path regains its saved priority and state (rule /3/)
   * unless another path of the LU holds that priority now; then it gets a new one (rule /4/).
   */
  private initialPriority(dev: MultipathDevice, path: Path): { priority: number; enabled: boolean; admin?: 'standby' | 'unavailable' } {
    const savedDev = this.saved.devices[dev.id]?.paths ?? {};
    const key = pathKey(path);
    const mine = savedDev[key];
    const used = new Set(dev.paths.map((p) => p.priority));
    // Priorities saved for the LU's other paths stay theirs, should those paths come back.
    const reserved = new Set(
      Object.entries(savedDev)
        .filter(([k]) => k !== key && !dev.paths.some((p) => pathKey(p) === k))
        .map(([, v]) => v.priority),
    );
    const valid = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 254;
    const free = (n: number) => !used.has(n) && !reserved.has(n);
    if (mine) {
      const admin = mine.admin === 'standby' || mine.admin === 'unavailable' ? mine.admin : undefined;
      const priority = valid(mine.priority) && !used.has(mine.priority) ? mine.priority : nextPriority(used, reserved);
      return { priority, enabled: admin === undefined, admin };
    }
    const first = dev.paths.length === 0 && Object.keys(savedDev).length === 0;
    if (first && free(1)) return { priority: 1, enabled: true };
    return { priority: nextPriority(used, reserved), enabled: false };
  }

  private onSessionLost(session: InitiatorSession, why: string): void {
    if (this.closed) return;
    for (const d of this.devices) for (const p of d.paths) if (p.session === session) d.failPath(p, `connection lost: ${why}`);
  }

  // ---- patrol ----

  start(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(
      () => void this.patrol().catch((e: Error) => this.event('error', PATROL_ROUND_FAILED.id, PATROL_ROUND_FAILED({ reason: e.message }))),
      this.watcher.interval * 1000,
    );
    this.timer.unref();
  }

  private allPaths(): Array<{ dev: MultipathDevice; path: Path }> {
    return this.devices.flatMap((dev) => dev.paths.map((path) => ({ dev, path })));
  }

  /**
   * The seed's monitoring I/O (PM L92): a READ of block 0 on the path, which must
   * complete within the patrol timeout. 'ok' when the path can carry I/O (or is
   * only fenced by a reservation, or its port is in an ALUA state that refuses
   * media access: the path itself works, selection skips such ports); 'failed'
   * on a transport error, a timeout or any other error status; 'lost' when its
   * LUN no longer holds the device's LU.
   */
  private async check(dev: MultipathDevice, path: Path): Promise<'ok' | 'failed' | 'lost'> {
    for (let i = 0; i < 8; i++) {
      let r;
      try {
        r = await path.session.command({ lun: path.lun, cdb: S.cdb.read16(0, 1), readLength: dev.blockSize, timeoutMs: this.watcher.timeout * 1000 });
      } catch (e) {
        path.reason = (e as Error).message;
        // A connection closed a moment ago (a timed-out command drops it) may still look open:
        // log in again once before calling the path failed.
        if (i > 0 || /timed out/.test(path.reason)) return 'failed';
        await new Promise((res) => setTimeout(res, 50));
        try {
          await path.session.open();
        } catch {
          return 'failed';
        }
        continue;
      }
      if (r.status === S.GOOD || r.status === S.RESERVATION_CONFLICT) return 'ok';
      const sense = S.parseSense(r.sense);
      if (r.status === S.CHECK_CONDITION && sense?.key === S.UNIT_ATTENTION) {
        // The UA is reported once per I_T nexus and the patrol took it: look for what I/O would have.
        if (mayHaveChangedLu(sense)) {
          if (!(await dev.verifyIdentity(path))) return 'lost';
        }
        if (aluaChanged(sense)) await this.readAlua(path);
        if (S.isSense(sense, S.REPORTED_LUNS_DATA_HAS_CHANGED)) this.wantRescan();
        continue;
      }
      if (r.status === S.BUSY || r.status === S.TASK_SET_FULL) continue;
      const refusedIn = r.status === S.CHECK_CONDITION ? S.aluaStateOfSense(sense) : undefined;
      if (refusedIn) {
        path.alua = refusedIn;
        return 'ok';
      }
      if (r.status === S.CHECK_CONDITION && S.isSense(sense, S.LOGICAL_UNIT_NOT_SUPPORTED)) return (await dev.verifyIdentity(path)) ? 'failed' : 'lost';
      path.reason = `the monitoring READ ended with status 0x${r.status.toString(16)}, ${S.senseText(sense)}`;
      return 'failed';
    }
    path.reason = 'the monitoring READ kept ending with a unit attention';
    return 'failed';
  }

  /** One patrol round: health check of idle usable paths, recovery check of failed ones. */
  async patrol(): Promise<void> {
    if (this.closed) return;
    const now = Date.now();
    const jobs: Array<Promise<void>> = [];
    for (const { dev, path } of this.allPaths()) {
      // Only paths idle for the threshold get a monitoring READ (PM L95): I/O proves a busy path.
      if (this.watcher.healthCheck && path.usable && now - path.lastIo >= this.watcher.threshold * 1000) {
        jobs.push(
          this.check(dev, path).then((r) => {
            path.lastIo = Date.now();
            if (r === 'failed') dev.failPath(path, `health check: the monitoring READ of block 0 failed or timed out (${path.reason})`, 271);
            else dev.refresh();
          }),
        );
      }
      if (path.state === 'unavailable' && path.marginal && !path.adminUnavailable) {
        jobs.push(
          this.check(dev, path).then((r) => {
            if (r === 'lost') return;
            if (r === 'failed') return dev.failPath(path, 'marginal path failed its check', 271);
            if (Date.now() - path.healthySince >= this.settings.marginalHoldMs) {
              path.marginal = false;
              path.failureTimes.length = 0;
              this.noteFailback(path);
              dev.failback(path, this.settings.failback === 'auto' ? 'active' : 'standby', 'stable again');
              this.persistState();
            }
          }),
        );
      }
    }
    if (this.watcher.recoveryCheck) jobs.push(this.recover());
    // Bound VVOLs come and go behind protocol endpoints: each round looks behind them again.
    if (this.hasConglomerates()) jobs.push(this.rescan().then(() => undefined));
    await Promise.all(jobs);
  }

  /** Recovery check of failed paths (also run at once when a device has no path left). */
  recover(): Promise<void> {
    this.recovering ??= this.recoverOnce().finally(() => {
      this.recovering = undefined;
      this.lastRecovery = Date.now();
    });
    return this.recovering;
  }

  private kickRecovery(): void {
    if (this.closed || this.recovering || Date.now() - this.lastRecovery < 200) return;
    void this.recover().catch((e: Error) => this.event('error', RECOVERY_CHECK_FAILED.id, RECOVERY_CHECK_FAILED({ reason: e.message })));
  }

  /** The failback mode decides whether a returning path's priority is enabled (PM L78-79, L85). */
  private noteFailback(path: Path): void {
    path.priorityDisabled = this.settings.failback !== 'auto';
  }

  /** The path answers again but cannot be put back: the seed's event 262, once per reason. */
  private failbackFailed(dev: MultipathDevice, path: Path, why: string): void {
    if (path.failbackError === why) return;
    path.failbackError = why;
    this.event('error', FAILBACK_FAILED.id, FAILBACK_FAILED({ dev: dev.name, number: path.number, portal: path.portal, why }), 262);
  }

  private async recoverOnce(): Promise<void> {
    const failed = this.allPaths().filter(({ path }) => path.state === 'failed' && !path.adminUnavailable);
    await Promise.all(
      failed.map(async ({ dev, path }) => {
        try {
          await path.session.open();
        } catch {
          return;
        }
        const r = await this.check(dev, path);
        if (r === 'lost') return this.failbackFailed(dev, path, `its LUN ${path.lun} no longer holds logical unit ${dev.id}`);
        if (r === 'failed') {
          // Logged in but the monitoring READ did not complete: the path is not back.
          return this.failbackFailed(dev, path, `the monitoring READ of block 0 failed (${path.reason})`);
        }
        if (path.state !== 'failed') return;
        // The session is new: the LU at the LUN may be another one since (a deleted and re-created LD).
        if (!(await dev.verifyIdentity(path))) return this.failbackFailed(dev, path, `its LUN ${path.lun} no longer holds logical unit ${dev.id}`);
        // Re-register this host's key before the path carries I/O, or a fenced write would reach the application.
        if (dev.prKey !== undefined && !(await this.registerKeyOn(dev, path))) {
          return this.failbackFailed(dev, path, `the reservation key 0x${dev.prKey.toString(16)} could not be registered on it`);
        }
        await this.readAlua(path);
        path.healthySince = Date.now();
        path.lastIo = Date.now();
        path.failbackError = '';
        if (path.marginal) {
          dev.setPathState(path, 'unavailable', `marginal: kept out of use until healthy for ${this.settings.marginalHoldMs / 1000} s`);
          return;
        }
        this.noteFailback(path);
        dev.failback(path, this.settings.failback === 'auto' ? 'active' : 'standby', 'recovery check passed');
        this.event(
          'info',
          'KURA-I7016',
          `${dev.name}: failback of path ${path.number} (${path.portal}) done (${this.settings.failback === 'auto' ? 'active' : 'standby'} failback)`,
          263,
        );
        this.persistState();
      }),
    );
  }

  private async readAlua(path: Path): Promise<void> {
    const d = await this.cmd(path.session, path.lun, S.cdb.reportTargetPortGroups(), 1024).catch(() => undefined);
    if (d) path.alua = S.aluaStateOf(d, path.targetPortGroup, path.relativeTargetPortId) ?? 'unknown';
  }

  // ---- administration ----

  device(ref: string): MultipathDevice {
    const d = this.devices.find((x) => x.name === ref || x.id === ref);
    if (!d) throw NO_SUCH_DEVICE({ ref });
    return d;
  }

  /** A path by its number (P:0:T:L) or, with a device, its portal. */
  path(ref: string, deviceRef?: string): { dev: MultipathDevice; path: Path } {
    const hits = this.paths(ref, deviceRef);
    if (hits.length === 1) return hits[0]!;
    throw PATH_REF_AMBIGUOUS({ ref, length: hits.length });
  }

  /**
   * The paths a reference names: a path number P:0:T:L, a portal, or a path number
   * with fields left out as the seed's -path allows (PM L145): "0:::" is every path
   * through portal 0, ":::1" every path to LUN 1.
   */
  paths(ref: string, deviceRef?: string): Array<{ dev: MultipathDevice; path: Path }> {
    const all = deviceRef ? this.device(deviceRef).paths.map((path) => ({ dev: this.device(deviceRef), path })) : this.allPaths();
    const pattern = /^(\d*):(\d*):(\d*):(\d*)$/.exec(ref);
    const hits = pattern
      ? all.filter(({ path }) => path.number.split(':').every((f, i) => pattern[i + 1] === '' || Number(pattern[i + 1]) === Number(f)))
      : all.filter(({ path }) => path.portal === ref);
    if (hits.length === 0) throw NO_SUCH_PATH({ ref });
    return hits;
  }

  /**
   * available: priority enabled (seed -path); standby: priority disabled (seed
   * -notavail); unavailable: out of use. A reference with omitted fields sets every
   * path it names. The seed's events 275 (done) and 276 (refused) are logged.
   */
  setPathAdminState(ref: string, to: 'available' | 'standby' | 'unavailable', deviceRef?: string): void {
    let hits: Array<{ dev: MultipathDevice; path: Path }>;
    try {
      hits = this.paths(ref, deviceRef);
    } catch (e) {
      this.event('warning', PATH_SET_FAILED.id, PATH_SET_FAILED({ ref, to, reason: (e as Error).message }), 276);
      throw e;
    }
    const refused: Path[] = [];
    for (const { dev, path } of hits) if (!this.setOnePath(dev, path, to)) refused.push(path);
    this.persistState();
    if (refused.length > 0) {
      const p = refused[0]!;
      throw PATH_FAILED_REFUSED({ arg: refused.map((x) => x.number).join(', '), reason: p.reason });
    }
  }

  /** False when the path cannot be made available now (it has failed). */
  private setOnePath(dev: MultipathDevice, path: Path, to: 'available' | 'standby' | 'unavailable'): boolean {
    const what = to === 'available' ? 'available (priority enabled)' : to === 'standby' ? 'standby (priority disabled)' : 'unavailable (out of use)';
    path.priorityDisabled = to === 'standby';
    if (to === 'unavailable') {
      path.adminUnavailable = true;
      if (path.state !== 'unavailable') dev.setPathState(path, 'unavailable', 'set by the administrator');
      this.event('info', 'KURA-I7070', `${dev.name}: path ${path.number} (${path.portal}) set ${what}`, 275);
      return true;
    }
    path.adminUnavailable = false;
    if (path.state === 'failed') {
      this.event(
        'warning',
        PATH_SET_REFUSED_FAILED.id,
        PATH_SET_REFUSED_FAILED({ dev: dev.name, number: path.number, portal: path.portal, what, reason: path.reason }),
        276,
      );
      return false;
    }
    if (path.state === 'unavailable' && path.marginal && to === 'available') path.marginal = false;
    const target = to === 'available' ? 'active' : 'standby';
    if (!(path.state === 'in-use' && target === 'active')) dev.setPathState(path, target, 'set by the administrator');
    else dev.refresh();
    this.event('info', 'KURA-I7070', `${dev.name}: path ${path.number} (${path.portal}) set ${what}`, 275);
    return true;
  }

  /** Runs a priority change between the seed's events 264 and 265, or 266 when it is refused. */
  private changePriority(what: string, ref: string, fn: () => MultipathDevice): void {
    this.event('info', 'KURA-I7063', `changing ${what} started`, 264);
    let dev: MultipathDevice;
    try {
      dev = fn();
    } catch (e) {
      this.event('error', PRIORITY_CHANGE_FAILED.id, PRIORITY_CHANGE_FAILED({ what, reason: (e as Error).message }), 266);
      throw e;
    }
    this.event('info', 'KURA-I7022', `${dev.name}: ${what} done (path ${ref})`, 265);
    dev.refresh();
    this.persistState();
  }

  setPriority(ref: string, priority: number, deviceRef?: string): void {
    this.changePriority(`the priority of path ${ref} to ${priority}`, ref, () => {
      if (!Number.isInteger(priority) || priority < 1 || priority > 254) {
        throw PRIORITY_RANGE({ priority });
      }
      const { dev, path } = this.path(ref, deviceRef);
      const other = dev.paths.find((p) => p !== path && p.priority === priority);
      if (other) throw PRIORITY_TAKEN({ number: other.number, dev: dev.name, priority });
      path.priority = priority;
      return dev;
    });
  }

  /** Exchanges the priorities of two paths of one device (seed -swap): the in-use path changes. */
  swap(a: string, b: string, deviceRef?: string): void {
    this.changePriority(`the priorities of paths ${a} and ${b} (swap)`, `${a}, ${b}`, () => {
      const pa = this.path(a, deviceRef);
      const pb = this.path(b, deviceRef ?? pa.dev.name);
      if (pa.dev !== pb.dev) throw SWAP_ACROSS_LUS({ a, b });
      [pa.path.priority, pb.path.priority] = [pb.path.priority, pa.path.priority];
      return pa.dev;
    });
  }

  setPolicy(deviceRef: string, policy: string): void {
    if (!POLICIES.includes(policy as Policy)) {
      this.event('warning', POLICY_REFUSED_UNKNOWN.id, POLICY_REFUSED_UNKNOWN({ deviceRef, policy }), 269);
      throw POLICY_UNKNOWN({ policy, arg: POLICIES.join(', ') });
    }
    const devs = deviceRef === 'all' ? this.devices : [this.device(deviceRef)];
    for (const d of devs) d.setPolicy(policy as Policy);
    this.persistState();
  }

  setWatcher(w: Partial<WatcherSettings>): WatcherSettings {
    const next = { ...this.watcher, ...w };
    for (const k of ['interval', 'threshold', 'timeout'] as const) {
      const v = next[k];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 1 || v > 86400) {
        throw PATROL_RANGE({ k, arg: String(v) });
      }
    }
    const intervalChanged = next.interval !== this.watcher.interval;
    Object.assign(this.watcher, { ...next, healthCheck: !!next.healthCheck, recoveryCheck: !!next.recoveryCheck });
    if (intervalChanged && this.timer) this.schedule();
    this.event(
      'info',
      'KURA-I7026',
      `patrol settings: health check ${this.watcher.healthCheck ? 'on' : 'off'}, recovery check ${this.watcher.recoveryCheck ? 'on' : 'off'}, interval ${this.watcher.interval} s, threshold ${this.watcher.threshold} s, timeout ${this.watcher.timeout} s`,
    );
    return this.watcher;
  }

  setMode(m: { failback?: string; cluster?: boolean; noPathRetry?: number; grouping?: string }): DeviceSettings {
    if (m.grouping !== undefined && m.grouping !== 'alua' && m.grouping !== 'multibus') {
      throw GROUPING_UNKNOWN({ grouping: m.grouping });
    }
    if (m.failback !== undefined && m.failback !== 'auto' && m.failback !== 'manual') {
      throw FAILBACK_UNKNOWN({ failback: m.failback });
    }
    if (m.noPathRetry !== undefined && (!Number.isFinite(m.noPathRetry) || m.noPathRetry < 0 || m.noPathRetry > 86400)) {
      throw NO_PATH_RETRY_RANGE({ noPathRetry: m.noPathRetry });
    }
    if (m.cluster === true) {
      // Cluster software expects one path per LU to carry I/O (the seed's MSCS rule).
      for (const d of this.devices) if (d.policy !== 'failover') d.setPolicy('failover');
    }
    if (m.failback) this.settings.failback = m.failback as 'auto' | 'manual';
    if (m.cluster !== undefined) this.settings.cluster = m.cluster;
    if (m.grouping !== undefined) this.settings.grouping = m.grouping as 'alua' | 'multibus';
    if (m.noPathRetry !== undefined) this.settings.noPathRetryMs = m.noPathRetry * 1000;
    for (const d of this.devices) d.refresh();
    this.persistState();
    this.event(
      'info',
      'KURA-I7028',
      `mode: failback ${this.settings.failback}, cluster ${this.settings.cluster ? 'on' : 'off'}, path grouping ${this.settings.grouping}, no-path-retry ${this.settings.noPathRetryMs / 1000} s`,
      277,
    );
    return this.settings;
  }

  // ---- persistent reservations ----

  private async prOut(dev: MultipathDevice, path: Path | undefined, sa: number, type: number, key: bigint, saKey: bigint): Promise<void> {
    await dev.execute({ kind: 'other', cdb: S.cdb.persistentReserveOut(sa, type), dataOut: S.prOutParams(key, saKey) }, path);
  }

  /** Registers the device's key on one path; false (and logged) when that failed. */
  private async registerKeyOn(dev: MultipathDevice, path: Path): Promise<boolean> {
    try {
      // REGISTER AND IGNORE EXISTING KEY: the path may or may not hold the key already.
      // Sent on this path's own session whatever its state: the registration belongs to its I_T nexus.
      for (let i = 0; ; i++) {
        const r = await path.session.command({
          lun: path.lun,
          cdb: S.cdb.persistentReserveOut(S.PROUT_REGISTER_AND_IGNORE_EXISTING_KEY, 0),
          dataOut: S.prOutParams(0n, dev.prKey!),
          timeoutMs: this.watcher.timeout * 1000,
        });
        if (r.status === S.GOOD) break;
        const s = S.parseSense(r.sense);
        if (i < 8 && r.status === S.CHECK_CONDITION && s?.key === S.UNIT_ATTENTION) continue;
        throw new Error(`status 0x${r.status.toString(16)}, ${S.senseText(s)}`);
      }
      this.event('info', 'KURA-I7029', `${dev.name}: reservation key 0x${dev.prKey!.toString(16)} registered on path ${path.number}`);
      return true;
    } catch (e) {
      this.event('warning', PR_KEY_REGISTER_FAILED.id, PR_KEY_REGISTER_FAILED({ dev: dev.name, number: path.number, reason: (e as Error).message }));
      return false;
    }
  }

  async persist(deviceRef: string, action: string, o: { key?: string; saKey?: string; type?: string }): Promise<unknown> {
    const dev = this.device(deviceRef);
    const key = parseKey(o.key, 'key');
    const typeName = o.type ?? 'write-exclusive-registrants-only';
    const type = S.PR_TYPES[typeName];
    if (type === undefined) throw RESERVATION_TYPE_UNKNOWN({ typeName, arg: Object.keys(S.PR_TYPES).join(', ') });
    const need = (k: bigint | undefined, what: string): bigint => {
      if (k === undefined) throw PERSIST_NEEDS_KEY({ action, what });
      return k;
    };
    switch (action) {
      case 'register': {
        const k = need(key, 'key');
        const usable = dev.paths.filter((p) => p.usable);
        if (usable.length === 0) throw DEVICE_HAS_NO_USABLE_PATH({ dev: dev.name });
        for (const p of usable) await this.prOut(dev, p, S.PROUT_REGISTER_AND_IGNORE_EXISTING_KEY, 0, 0n, k);
        dev.prKey = k === 0n ? undefined : k;
        this.persistState();
        this.event(
          'info',
          'KURA-I7029',
          `${dev.name}: reservation key 0x${k.toString(16)} registered on ${usable.length} path(s); paths that return get it too`,
        );
        return { registeredPaths: usable.map((p) => p.number) };
      }
      case 'unregister': {
        for (const p of dev.paths.filter((x) => x.usable)) await this.prOut(dev, p, S.PROUT_REGISTER_AND_IGNORE_EXISTING_KEY, 0, 0n, 0n);
        dev.prKey = undefined;
        this.persistState();
        return {};
      }
      case 'reserve':
        await this.prOut(dev, undefined, S.PROUT_RESERVE, type, need(key ?? dev.prKey, 'key'), 0n);
        break;
      case 'release':
        await this.prOut(dev, undefined, S.PROUT_RELEASE, type, need(key ?? dev.prKey, 'key'), 0n);
        break;
      case 'clear':
        await this.prOut(dev, undefined, S.PROUT_CLEAR, 0, need(key ?? dev.prKey, 'key'), 0n);
        dev.prKey = undefined;
        this.persistState();
        break;
      case 'preempt':
        await this.prOut(dev, undefined, S.PROUT_PREEMPT, type, need(key ?? dev.prKey, 'key'), need(parseKey(o.saKey, 'sa-key'), 'sa-key'));
        break;
      case 'read-keys': {
        const r = await dev.execute({ kind: 'other', cdb: S.cdb.persistentReserveIn(S.PRIN_READ_KEYS), readLength: 8192 });
        return S.parseReadKeys(r.dataIn);
      }
      case 'read-reservation': {
        const r = await dev.execute({ kind: 'other', cdb: S.cdb.persistentReserveIn(S.PRIN_READ_RESERVATION), readLength: 8192 });
        return S.parseReadReservation(r.dataIn);
      }
      default:
        throw PERSIST_ACTION_UNKNOWN({ action });
    }
    this.event('info', 'KURA-I7034', `${dev.name}: persistent reservation ${action} done`);
    return {};
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.recovering?.catch(() => undefined);
    await Promise.all([...this.sessions.values()].map((s) => s.close()));
  }
}

function parseKey(v: string | undefined, what: string): bigint | undefined {
  if (v === undefined || v === '') return undefined;
  try {
    const k = BigInt(v);
    if (k < 0n || k > 0xffffffffffffffffn) throw new Error('range');
    return k;
  } catch {
    throw PERSIST_KEY_INVALID({ what, v });
  }
}

function pathKey(p: Path): string {
  return `${p.portal}/${p.target}/${p.lun}`;
}

/** dm-multipath style names: mpatha, mpathb, ..., mpathz, mpathaa, ... */
export function exportName(i: number): string {
  let s = '';
  let n = i;
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return `mpath${s}`;
}

/** One above the highest priority in use, or the lowest free one once 254 is taken. */
function nextPriority(used: Set<number>, reserved: Set<number>): number {
  const taken = new Set([...used, ...reserved]);
  const top = Math.max(0, ...taken);
  if (top < 254) return top + 1;
  for (let n = 1; n <= 254; n++) if (!taken.has(n)) return n;
  // 254 paths to one LU: priorities cannot stay unique; the path still works at the lowest one.
  return 1;
}
