// A multipath device: every path to one logical unit behind one BlockDevice.
// Each call becomes a SCSI command on the path the policy picks; a transport
// error or timeout fails that path at once and the command is retried on
// another one, so the caller does not see it. With no usable path, I/O waits
// up to no_path_retry for one to come back. RESERVATION CONFLICT is never
// retried: the host is fenced and the caller gets an I/O error.
import type { AllocationExtent, BlockDevice, UnmapRange, WriteOptions } from '../block/device.js';
import { PathTransportError } from '../iscsi/initiator-session.js';
import type { CommandResult } from '../iscsi/initiator.js';
import type { Path, PathState } from './path.js';
import { Selector, isDynamic } from './policy.js';
import type { Grouping, Policy } from './policy.js';
import * as S from '../scsi/spec/index.js';
import { aluaChanged, mayHaveChangedLu } from './sense-policy.js';
import {
  ARRAY_FAILED_COMMAND,
  COMMAND_FAILED_EVERYWHERE,
  FAILOVER_DONE,
  FAILOVER_FAILED,
  NO_USABLE_PATH,
  NO_USABLE_PATH_LEFT,
  PATHS_NOT_REDUNDANT,
  PATH_ALUA_NOT_USABLE,
  PATH_COMMAND_FAILED,
  PATH_FAILED,
  PATH_MARGINAL,
  PATH_NOT_USABLE,
  POLICY_NOT_IN_CLUSTER_MODE,
  POLICY_REFUSED_IN_CLUSTER_MODE,
  RESERVATION_CONFLICT,
  RESERVATION_CONFLICT_EVENT,
} from '../catalogue/pathmgr.js';
import { LU_GONE, PATH_LU_CHANGED, PATH_LU_GONE } from '../catalogue/array.js';

export interface DeviceSettings {
  /** How long I/O waits for a usable path before failing (ms); 0 fails at once. */
  noPathRetryMs: number;
  failback: 'auto' | 'manual';
  cluster: boolean;
  grouping: Grouping;
  /** A path failing this many times within marginalWindowMs is marginal. */
  marginalFailures: number;
  marginalWindowMs: number;
  /** A marginal path must stay healthy this long before it is used again. */
  marginalHoldMs: number;
  commandTimeoutMs: number;
}

export type EventLevel = 'info' | 'warning' | 'error';

export interface DeviceHooks {
  /** Logs an event; `seed` is the seed's event id (PathManager Table 3-2) when it is one of those. */
  event(level: EventLevel, id: string, text: string, seed?: number): void;
  /** Asks the patrol to check failed paths now (all paths are down). */
  wantRecovery(): void;
  settings(): DeviceSettings;
  /** A path reported REPORTED LUNS DATA HAS CHANGED: the LUNs behind it (a conglomerate's subsidiaries) are looked at again. */
  lunsChanged?(): void;
}

interface Io {
  cdb: Buffer;
  dataOut?: Buffer;
  readLength?: number;
  kind: 'read' | 'write' | 'other';
}

const MAX_ATTEMPTS = 32;

export class MultipathDevice implements BlockDevice {
  readonly readOnly = false;
  readonly optimalIoSize: number;
  readonly selector: Selector;
  /** The reservation key this host registered through pathd (re-registered on returning paths). */
  prKey: bigint | undefined;
  private pathWaiters: Array<() => void> = [];
  private lastInUse = '';
  /** Redundancy (two or more usable paths) as last reported; undefined until discovery is done. */
  private redundant: boolean | undefined;
  /** A path of this device found another LU at its LUN: once no path reaches the LU, I/O fails. */
  private identityGone = false;
  /** Numbers the paths in the order they were found (the seed's per-LU path index). */
  private pathCount = 0;
  /** A subsidiary LU of a LUN conglomerate (a bound VVOL): the PE it was found behind (its id) and its subsidiary LU id. */
  conglomerate: { pe: string; slu: number } | undefined;

  constructor(
    /** The VPD 0x83 designator. */
    readonly id: string,
    /** The NBD export name. */
    readonly name: string,
    readonly paths: Path[],
    readonly blockSize: number,
    public blockCount: number,
    policy: Policy,
    private readonly hooks: DeviceHooks,
    /** The seed's LogicalUnit #N: the device's number in this pathd (mpatha is #0). */
    readonly index = 0,
  ) {
    this.optimalIoSize = Math.max(blockSize, 64 * 1024);
    this.selector = new Selector(policy, () => this.hooks.settings().grouping);
    this.refresh();
  }

  get policy(): Policy {
    return this.selector.policy;
  }

  setPolicy(p: Policy): void {
    this.hooks.event('info', 'KURA-I7065', `${this.name}: changing the balancing policy from ${this.policy} to ${p}`, 267);
    if (isDynamic(p) && this.hooks.settings().cluster) {
      this.hooks.event('warning', POLICY_REFUSED_IN_CLUSTER_MODE.id, POLICY_REFUSED_IN_CLUSTER_MODE({ name: this.name, policy: p }), 269);
      throw POLICY_NOT_IN_CLUSTER_MODE({ policy: p });
    }
    this.selector.policy = p;
    this.hooks.event('info', 'KURA-I7001', `${this.name}: balancing policy set to ${p}`, 268);
    this.refresh();
  }

  /** Re-derives which paths are in use after any change of state, priority or policy. */
  refresh(): void {
    const inUse = new Set(this.selector.inUse(this.paths));
    for (const p of this.paths) {
      if (inUse.has(p) && (p.state === 'active' || p.state === 'standby'))
        p.setState('in-use', p.priorityDisabled ? 'priority disabled, in use as no enabled path can be' : '');
      else if (!inUse.has(p) && p.state === 'in-use') p.setState(p.priorityDisabled ? 'standby' : 'active', p.priorityDisabled ? 'priority disabled' : '');
    }
    const now = this.paths
      .filter((p) => inUse.has(p))
      .map((p) => p.number)
      .join(',');
    if (now !== this.lastInUse) {
      if (this.lastInUse !== '' && now !== '') this.hooks.event('info', 'KURA-I7002', `${this.name}: paths in use changed from ${this.lastInUse} to ${now}`);
      if (now === '' && this.lastInUse !== '')
        this.hooks.event('error', NO_USABLE_PATH_LEFT.id, NO_USABLE_PATH_LEFT({ name: this.name, arg: this.hooks.settings().noPathRetryMs / 1000 }));
      this.lastInUse = now;
    }
    if (inUse.size > 0) for (const w of this.pathWaiters.splice(0)) w();
    this.checkRedundancy();
  }

  /** Adds a path found by discovery; it gets the next path index of this LU. */
  addPath(p: Path): void {
    p.index = this.pathCount++;
    this.paths.push(p);
    this.refresh();
  }

  /** Removes a path (its LUN no longer reaches this LU); the seed's event 274. */
  removePath(p: Path, why: string): void {
    const i = this.paths.indexOf(p);
    if (i < 0) return;
    this.paths.splice(i, 1);
    if (p.identityLost) this.identityGone = true;
    this.hooks.event('info', 'KURA-I7069', `${this.name}: path ${p.number} (${p.portal}) removed: ${why}`, 274);
    this.refresh();
  }

  /** The LU is gone for good (a VVOL unbound from this host): every path leaves and I/O fails at once. */
  retire(why: string): void {
    this.identityGone = true;
    // Not a fault: no "no usable path" error and no redundancy report follow.
    this.redundant = undefined;
    this.lastInUse = '';
    const gone = this.paths.splice(0).map((p) => p.number);
    this.hooks.event('info', 'KURA-I3551', `${this.name}: closed, paths ${gone.join(',') || 'none'} removed: ${why}`);
    for (const w of this.pathWaiters.splice(0)) w();
  }

  /** Starts the redundancy reports (after discovery, so a device's first path alone is not reported). */
  watchRedundancy(): void {
    if (this.redundant === undefined) this.redundant = true;
    this.checkRedundancy();
  }

  /** One usable path left (or none) is the seed's event 278; two or more again is reported too. */
  private checkRedundancy(): void {
    if (this.redundant === undefined) return;
    const usable = this.paths.filter((p) => p.usable);
    const now = usable.length >= 2;
    if (now === this.redundant) return;
    this.redundant = now;
    if (now) this.hooks.event('info', 'KURA-I7073', `${this.name}: ${usable.length} usable paths again; the logical unit is redundant`);
    else
      this.hooks.event(
        'warning',
        PATHS_NOT_REDUNDANT.id,
        PATHS_NOT_REDUNDANT({
          name: this.name,
          arg: usable.length === 1 ? `only path ${usable[0]!.number} (${usable[0]!.portal}) is usable` : 'no path is usable',
        }),
        278,
      );
  }

  /**
   * A recovered path returns (the seed's failback): active or standby by the
   * failback mode. When it then has the highest priority I/O moves to it: the
   * seed's auto failback (events 272 and 273).
   */
  failback(p: Path, to: 'active' | 'standby', why: string): void {
    const from = p.setState(to, why);
    if (from !== to) this.hooks.event('info', 'KURA-I7004', `${this.name}: path ${p.number} (${p.portal}) ${from} -> ${to}${why ? `: ${why}` : ''}`);
    const before = this.paths.filter((x) => x.state === 'in-use').map((x) => x.number);
    const takesOver = to === 'active' && this.selector.inUse(this.paths).includes(p);
    if (takesOver)
      this.hooks.event(
        'info',
        'KURA-I7067',
        `${this.name}: auto failback to path ${p.number} (${p.portal}) started: it has priority ${p.priority}${before.length ? `, I/O moves from ${before.join(', ')}` : ''}`,
        272,
      );
    this.refresh();
    if (takesOver && p.state === 'in-use')
      this.hooks.event('info', 'KURA-I7068', `${this.name}: auto failback to path ${p.number} (${p.portal}) done; it carries the I/O`, 273);
  }

  /** Moves a path to a state and logs it; in-use/active are then re-derived. */
  setPathState(p: Path, to: PathState, why: string): void {
    const from = p.setState(to, why);
    if (from !== to)
      this.hooks.event(
        to === 'failed' ? 'warning' : 'info',
        'KURA-I7004',
        `${this.name}: path ${p.number} (${p.portal}) ${from} -> ${to}${why ? `: ${why}` : ''}`,
      );
    this.refresh();
  }

  /** A command on the path failed at the transport level: fail the path over at once. */
  failPath(p: Path, why: string, seed: 270 | 271 = 270): void {
    if (!p.usable && !(p.state === 'unavailable' && p.marginal)) return;
    const wasInUse = p.state === 'in-use';
    p.stats.failures++;
    const s = this.hooks.settings();
    const now = Date.now();
    p.failureTimes.push(now);
    while (p.failureTimes.length > 0 && now - p.failureTimes[0]! > s.marginalWindowMs) p.failureTimes.shift();
    if (!p.marginal && p.failureTimes.length >= s.marginalFailures) {
      p.marginal = true;
      this.hooks.event(
        'warning',
        PATH_MARGINAL.id,
        PATH_MARGINAL({
          name: this.name,
          number: p.number,
          portal: p.portal,
          length: p.failureTimes.length,
          arg: s.marginalWindowMs / 1000,
          arg2: s.marginalHoldMs / 1000,
        }),
      );
    }
    p.session.drop();
    this.hooks.event('warning', PATH_FAILED.id, PATH_FAILED({ name: this.name, number: p.number, portal: p.portal, why }), seed);
    if (wasInUse) this.hooks.event('info', 'KURA-I7060', `${this.name}: failover from path ${p.number} (${p.portal}) started`, 257);
    this.setPathState(p, 'failed', why);
    if (wasInUse) {
      const next = this.selector.inUse(this.paths);
      if (next.length > 0)
        this.hooks.event(
          'warning',
          FAILOVER_DONE.id,
          FAILOVER_DONE({ name: this.name, number: p.number, portal: p.portal, arg: next.map((x) => `${x.number} (${x.portal})`).join(', ') }),
          258,
        );
      else {
        this.hooks.event('error', FAILOVER_FAILED.id, FAILOVER_FAILED({ name: this.name, number: p.number, portal: p.portal }), 259);
        this.hooks.wantRecovery();
      }
    }
  }

  private waitForPath(deadline: number): Promise<boolean> {
    const left = deadline - Date.now();
    if (left <= 0) return Promise.resolve(false);
    this.hooks.wantRecovery();
    return new Promise((resolve) => {
      const t = setTimeout(
        () => {
          this.pathWaiters = this.pathWaiters.filter((w) => w !== done);
          resolve(false);
        },
        Math.min(left, 250),
      );
      const done = () => {
        clearTimeout(t);
        resolve(true);
      };
      this.pathWaiters.push(done);
    });
  }

  /**
   * Checks that the path's LUN still holds this device's logical unit (VPD 0x83):
   * asked after a unit attention that may mean another LU took the LUN (power on or
   * reset, REPORTED LUNS DATA HAS CHANGED, INQUIRY DATA HAS CHANGED) and before a
   * recovered path carries I/O again. A path whose LUN holds another LU, or none,
   * leaves use for good. False when it did.
   */
  async verifyIdentity(p: Path): Promise<boolean> {
    if (p.identityLost) return false;
    let r: CommandResult;
    try {
      r = await p.session.command({
        lun: p.lun,
        cdb: S.cdb.inquiry(true, S.VPD_DEVICE_IDENTIFICATION, 1024),
        readLength: 1024,
        timeoutMs: this.hooks.settings().commandTimeoutMs,
      });
    } catch {
      // A transport failure is the path's own, handled by the I/O or the patrol.
      return true;
    }
    let now: string | undefined;
    if (r.status === S.GOOD) {
      now = S.parseDeviceIdentification(r.dataIn)?.id;
      if (now === this.id) return true;
    } else {
      const sense = S.parseSense(r.sense);
      // INQUIRY is answered despite unit attentions; our LU answered this page before, so ILLEGAL REQUEST means it is gone.
      if (sense?.key !== S.ILLEGAL_REQUEST) return true;
    }
    p.identityLost = true;
    this.hooks.event(
      'error',
      PATH_LU_CHANGED.id,
      PATH_LU_CHANGED({ name: this.name, number: p.number, portal: p.portal, lun: p.lun, id: this.id, arg: now ?? 'no logical unit' }),
    );
    if (p.state !== 'unavailable') this.setPathState(p, 'unavailable', `the logical unit at LUN ${p.lun} is no longer ${this.id}`);
    return false;
  }

  /** Runs one command with failover; returns the GOOD result or throws a KuraError. */
  async execute(io: Io, onlyPath?: Path): Promise<CommandResult> {
    let noPathSince = 0;
    let attempts = 0;
    let delay = 0;
    for (;;) {
      if ((this.paths.length > 0 || this.identityGone) && this.paths.every((x) => x.identityLost)) {
        throw LU_GONE({ name: this.name, id: this.id });
      }
      const p = onlyPath ?? this.selector.pick(this.paths);
      if (!p || (onlyPath && !onlyPath.usable)) {
        if (onlyPath) throw PATH_NOT_USABLE({ name: this.name, number: onlyPath.number, state: onlyPath.state });
        const s = this.hooks.settings();
        noPathSince ||= Date.now();
        if (await this.waitForPath(noPathSince + s.noPathRetryMs)) continue;
        if (Date.now() - noPathSince < s.noPathRetryMs) continue;
        throw NO_USABLE_PATH({ name: this.name, arg: s.noPathRetryMs / 1000 });
      }
      noPathSince = 0;
      if (++attempts > MAX_ATTEMPTS) throw COMMAND_FAILED_EVERYWHERE({ name: this.name, maxAttempts: MAX_ATTEMPTS });
      if (delay) await new Promise((r) => setTimeout(r, delay));
      delay = 0;
      const started = Date.now();
      let r: CommandResult;
      try {
        r = await p.session.command({
          lun: p.lun,
          cdb: io.cdb,
          dataOut: io.dataOut,
          readLength: io.readLength,
          timeoutMs: this.hooks.settings().commandTimeoutMs,
        });
      } catch (e) {
        p.stats.errors++;
        if (onlyPath) throw PATH_COMMAND_FAILED({ name: this.name, number: p.number, reason: (e as Error).message });
        if (e instanceof PathTransportError) this.failPath(p, e.message);
        else this.failPath(p, (e as Error).message);
        continue;
      }
      p.lastIo = Date.now();
      p.noteServiceTime(p.lastIo - started);
      if (r.status === S.GOOD) {
        if (io.kind === 'read') {
          p.stats.reads++;
          p.stats.readBytes += r.dataIn.length;
        } else if (io.kind === 'write') {
          p.stats.writes++;
          p.stats.writeBytes += io.dataOut?.length ?? 0;
        } else p.stats.otherCommands++;
        return r;
      }
      p.stats.errors++;
      if (r.status === S.RESERVATION_CONFLICT) {
        this.noteConflict();
        throw RESERVATION_CONFLICT({ name: this.name });
      }
      if (r.status === S.BUSY || r.status === S.TASK_SET_FULL) {
        delay = 20;
        continue;
      }
      const sense = S.parseSense(r.sense);
      if (r.status === S.CHECK_CONDITION && sense) {
        if (sense.key === S.UNIT_ATTENTION) {
          // Unit attention: reported once per I_T nexus; ALUA changes make us re-read the states.
          if (aluaChanged(sense)) void this.refreshAlua();
          // A LUN conglomerate may have changed (a VVOL bound or unbound): pathd looks again.
          if (S.isSense(sense, S.REPORTED_LUNS_DATA_HAS_CHANGED)) this.hooks.lunsChanged?.();
          // Another LU may now sit at this LUN: the command is not retried on it unless it is still ours.
          if (mayHaveChangedLu(sense)) {
            if (!(await this.verifyIdentity(p)) && onlyPath) throw PATH_LU_GONE({ name: this.name, number: p.number, id: this.id });
          }
          continue;
        }
        const refusedIn = S.aluaStateOfSense(sense);
        if (refusedIn) {
          // Port in ALUA transition/standby/unavailable: this path cannot do media access now.
          p.alua = refusedIn;
          this.refresh();
          void this.refreshAlua();
          if (onlyPath) throw PATH_ALUA_NOT_USABLE({ name: this.name, number: p.number, alua: p.alua });
          delay = refusedIn === 'transitioning' ? 50 : 0;
          continue;
        }
        if (sense.key === S.ABORTED_COMMAND || sense.key === S.NOT_READY) {
          delay = 20;
          continue;
        }
        // LOGICAL UNIT NOT SUPPORTED: the LU left this LUN (an LD deleted); other paths may still reach it.
        if (S.isSense(sense, S.LOGICAL_UNIT_NOT_SUPPORTED) && !onlyPath && !(await this.verifyIdentity(p))) continue;
      }
      throw ARRAY_FAILED_COMMAND({ name: this.name, arg: io.cdb[0]!.toString(16), arg2: r.status.toString(16), arg3: S.senseText(sense) });
    }
  }

  private lastConflictLog = 0;

  /** Fencing is logged, at most once a minute per device (a fenced host may retry a lot). */
  private noteConflict(): void {
    if (Date.now() - this.lastConflictLog < 60_000) return;
    this.lastConflictLog = Date.now();
    this.hooks.event('error', RESERVATION_CONFLICT_EVENT.id, RESERVATION_CONFLICT_EVENT({ name: this.name }));
  }

  /** Re-reads the ALUA state of every connected path. */
  async refreshAlua(): Promise<void> {
    await Promise.all(
      this.paths.map(async (p) => {
        if (!p.session.connected) return;
        try {
          const r = await p.session.command({ lun: p.lun, cdb: S.cdb.reportTargetPortGroups(), readLength: 1024, timeoutMs: 3000 });
          if (r.status === S.GOOD) p.alua = S.aluaStateOf(r.dataIn, p.targetPortGroup, p.relativeTargetPortId) ?? 'unknown';
        } catch {
          // The path's own failure is handled by the I/O or the patrol.
        }
      }),
    );
    this.refresh();
  }

  async read(lba: number, blocks: number): Promise<Buffer> {
    if (blocks === 0) return Buffer.alloc(0);
    const r = await this.execute({ kind: 'read', cdb: S.cdb.read16(lba, blocks), readLength: blocks * this.blockSize });
    return r.dataIn.length === blocks * this.blockSize ? r.dataIn : Buffer.concat([r.dataIn, Buffer.alloc(blocks * this.blockSize - r.dataIn.length)]);
  }

  async write(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    if (buf.length === 0) return;
    await this.execute({ kind: 'write', cdb: S.cdb.write16(lba, buf.length / this.blockSize, opts?.fua ? S.CDB_FUA : 0), dataOut: buf });
  }

  async flush(): Promise<void> {
    await this.execute({ kind: 'other', cdb: S.cdb.synchronizeCache16() });
  }

  async unmap(ranges: UnmapRange[]): Promise<void> {
    for (let i = 0; i < ranges.length; i += 64) {
      const part = ranges.slice(i, i + 64).filter((r) => r.blocks > 0);
      if (part.length === 0) continue;
      const params = S.unmapParams(part);
      await this.execute({ kind: 'other', cdb: S.cdb.unmap(params.length), dataOut: params });
    }
  }

  async writeZeroes(lba: number, blocks: number, opts?: WriteOptions & { noHole?: boolean }): Promise<void> {
    if (blocks === 0) return;
    await this.execute({ kind: 'write', cdb: S.cdb.writeSame16(lba, blocks, opts?.noHole ? 0 : S.WRITE_SAME_UNMAP), dataOut: Buffer.alloc(this.blockSize) });
    if (opts?.fua) await this.flush();
  }

  allocation(_lba: number, blocks: number): Promise<AllocationExtent[]> {
    return Promise.resolve([{ blocks, hole: false, zero: false }]);
  }
}
