// A multipath device: every path to one logical unit behind one BlockDevice.
// Each call becomes a SCSI command on the path the policy picks; a transport
// error or timeout fails that path at once and the command is retried on
// another one, so the caller does not see it. With no usable path, I/O waits
// up to no_path_retry for one to come back. RESERVATION CONFLICT is never
// retried: the host is fenced and the caller gets an I/O error.
import type { AllocationExtent, BlockDevice, UnmapRange, WriteOptions } from '../block/device.js';
import { KuraError } from '../errors.js';
import { PathTransportError } from '../iscsi/initiator-session.js';
import type { CommandResult } from '../iscsi/initiator.js';
import type { Path, PathState } from './path.js';
import { Selector, isDynamic } from './policy.js';
import type { Grouping, Policy } from './policy.js';
import * as S from '../scsi/spec/index.js';
import { aluaChanged, mayHaveChangedLu } from './sense-policy.js';

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
      this.hooks.event('warning', 'KURA-W7066', `${this.name}: the balancing policy cannot be ${p}: cluster mode allows no dynamic load balancing`, 269);
      throw new KuraError('KURA-E7002', 'EPERM', `policy ${p} balances load dynamically, which cluster mode does not allow`, 'Use policy failover, or turn cluster mode off first (kura path mode set --cluster off).');
    }
    this.selector.policy = p;
    this.hooks.event('info', 'KURA-I7001', `${this.name}: balancing policy set to ${p}`, 268);
    this.refresh();
  }

  /** Re-derives which paths are in use after any change of state, priority or policy. */
  refresh(): void {
    const inUse = new Set(this.selector.inUse(this.paths));
    for (const p of this.paths) {
      if (inUse.has(p) && (p.state === 'active' || p.state === 'standby')) p.setState('in-use', p.priorityDisabled ? 'priority disabled, in use as no enabled path can be' : '');
      else if (!inUse.has(p) && p.state === 'in-use') p.setState(p.priorityDisabled ? 'standby' : 'active', p.priorityDisabled ? 'priority disabled' : '');
    }
    const now = this.paths.filter((p) => inUse.has(p)).map((p) => p.number).join(',');
    if (now !== this.lastInUse) {
      if (this.lastInUse !== '' && now !== '') this.hooks.event('info', 'KURA-I7002', `${this.name}: paths in use changed from ${this.lastInUse} to ${now}`);
      if (now === '' && this.lastInUse !== '') this.hooks.event('error', 'KURA-E7003', `${this.name}: no usable path is left; I/O is queued for up to ${this.hooks.settings().noPathRetryMs / 1000} s`);
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
    else this.hooks.event('warning', 'KURA-W7072', `${this.name}: ${usable.length === 1 ? `only path ${usable[0]!.number} (${usable[0]!.portal}) is usable` : 'no path is usable'}; the logical unit's paths are not redundant`, 278);
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
    if (takesOver) this.hooks.event('info', 'KURA-I7067', `${this.name}: auto failback to path ${p.number} (${p.portal}) started: it has priority ${p.priority}${before.length ? `, I/O moves from ${before.join(', ')}` : ''}`, 272);
    this.refresh();
    if (takesOver && p.state === 'in-use') this.hooks.event('info', 'KURA-I7068', `${this.name}: auto failback to path ${p.number} (${p.portal}) done; it carries the I/O`, 273);
  }

  /** Moves a path to a state and logs it; in-use/active are then re-derived. */
  setPathState(p: Path, to: PathState, why: string): void {
    const from = p.setState(to, why);
    if (from !== to) this.hooks.event(to === 'failed' ? 'warning' : 'info', 'KURA-I7004', `${this.name}: path ${p.number} (${p.portal}) ${from} -> ${to}${why ? `: ${why}` : ''}`);
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
      this.hooks.event('warning', 'KURA-W7005', `${this.name}: path ${p.number} (${p.portal}) failed ${p.failureTimes.length} times within ${s.marginalWindowMs / 1000} s; it is marginal and stays out of use until it has been healthy for ${s.marginalHoldMs / 1000} s`);
    }
    p.session.drop();
    this.hooks.event('warning', 'KURA-W7006', `${this.name}: path ${p.number} (${p.portal}) failed: ${why}`, seed);
    if (wasInUse) this.hooks.event('info', 'KURA-I7060', `${this.name}: failover from path ${p.number} (${p.portal}) started`, 257);
    this.setPathState(p, 'failed', why);
    if (wasInUse) {
      const next = this.selector.inUse(this.paths);
      if (next.length > 0) this.hooks.event('warning', 'KURA-W7007', `${this.name}: failover from ${p.number} (${p.portal}) to ${next.map((x) => `${x.number} (${x.portal})`).join(', ')} done`, 258);
      else {
        this.hooks.event('error', 'KURA-E7061', `${this.name}: failover from path ${p.number} (${p.portal}) failed: no other path is usable`, 259);
        this.hooks.wantRecovery();
      }
    }
  }

  private waitForPath(deadline: number): Promise<boolean> {
    const left = deadline - Date.now();
    if (left <= 0) return Promise.resolve(false);
    this.hooks.wantRecovery();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.pathWaiters = this.pathWaiters.filter((w) => w !== done);
        resolve(false);
      }, Math.min(left, 250));
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
      r = await p.session.command({ lun: p.lun, cdb: S.cdb.inquiry(true, S.VPD_DEVICE_IDENTIFICATION, 1024), readLength: 1024, timeoutMs: this.hooks.settings().commandTimeoutMs });
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
    this.hooks.event('error', 'KURA-E2510', `${this.name}: path ${p.number} (${p.portal}) LUN ${p.lun} no longer reaches logical unit ${this.id}: it holds ${now ?? 'no logical unit'}; the path is out of use for good (no I/O of ${this.name} goes to another LU)`);
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
        throw new KuraError('KURA-E2511', 'EIO', `${this.name}: logical unit ${this.id} is gone from the array (its LUN holds another logical unit, or none); I/O to ${this.name} fails`, 'The LD was deleted on the array: stop using this device; kura path show lists the devices there are now.');
      }
      const p = onlyPath ?? this.selector.pick(this.paths);
      if (!p || (onlyPath && !onlyPath.usable)) {
        if (onlyPath) throw new KuraError('KURA-E7008', 'EIO', `${this.name}: path ${onlyPath.number} is ${onlyPath.state}`, 'Pick a path that is in use or active (kura path show).');
        const s = this.hooks.settings();
        noPathSince ||= Date.now();
        if (await this.waitForPath(noPathSince + s.noPathRetryMs)) continue;
        if (Date.now() - noPathSince < s.noPathRetryMs) continue;
        throw new KuraError('KURA-E7009', 'EIO', `${this.name}: no usable path for ${s.noPathRetryMs / 1000} s; the I/O failed`, 'Check the paths with kura path show and the array with kura fault/status; raise --queue-if-no-path to queue longer.');
      }
      noPathSince = 0;
      if (++attempts > MAX_ATTEMPTS) throw new KuraError('KURA-E7010', 'EIO', `${this.name}: the command failed ${MAX_ATTEMPTS} times on every path`, 'See pathd log for the sense data of each attempt.');
      if (delay) await new Promise((r) => setTimeout(r, delay));
      delay = 0;
      const started = Date.now();
      let r: CommandResult;
      try {
        r = await p.session.command({ lun: p.lun, cdb: io.cdb, dataOut: io.dataOut, readLength: io.readLength, timeoutMs: this.hooks.settings().commandTimeoutMs });
      } catch (e) {
        p.stats.errors++;
        if (onlyPath) throw new KuraError('KURA-E7008', 'EIO', `${this.name}: path ${p.number} failed: ${(e as Error).message}`, 'Check the path with kura path show.');
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
        throw new KuraError('KURA-E7011', 'EIO', `${this.name}: RESERVATION CONFLICT: another host holds a persistent reservation on this logical unit`, 'This host is fenced; register its key through kura path persist register if it should have access.');
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
          // Another LU may now sit at this LUN: the command is not retried on it unless it is still ours.
          if (mayHaveChangedLu(sense)) {
            if (!(await this.verifyIdentity(p)) && onlyPath) throw new KuraError('KURA-E2511', 'EIO', `${this.name}: path ${p.number} no longer reaches logical unit ${this.id}`, 'Use another path (kura path show).');
          }
          continue;
        }
        const refusedIn = S.aluaStateOfSense(sense);
        if (refusedIn) {
          // Port in ALUA transition/standby/unavailable: this path cannot do media access now.
          p.alua = refusedIn;
          this.refresh();
          void this.refreshAlua();
          if (onlyPath) throw new KuraError('KURA-E7008', 'EIO', `${this.name}: path ${p.number} is ALUA ${p.alua}`, 'Use another path.');
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
      throw new KuraError('KURA-E7012', 'EIO', `${this.name}: the array failed the command 0x${io.cdb[0]!.toString(16)} with status 0x${r.status.toString(16)}, ${S.senseText(sense)}`, 'Check the array events (kura events); the error is not one a path switch can cure.');
    }
  }

  private lastConflictLog = 0;

  /** Fencing is logged, at most once a minute per device (a fenced host may retry a lot). */
  private noteConflict(): void {
    if (Date.now() - this.lastConflictLog < 60_000) return;
    this.lastConflictLog = Date.now();
    this.hooks.event('error', 'KURA-E7011', `${this.name}: RESERVATION CONFLICT: this host is fenced by another host's persistent reservation; its I/O fails`);
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
