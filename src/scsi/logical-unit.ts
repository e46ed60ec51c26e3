// A SCSI logical unit (SAM-5 4.6) over one block device: its task-independent
// state (unit attentions, reservations, mode parameters) and the order in which a
// command meets the checks SAM-5 and SPC-4 require before its handler runs.
import { checkAluaAccess, portState } from './alua.js';
import { padCdb } from './cdb.js';
import type { CommandContext, CommandSpec } from './command.js';
import { findCommand, hasServiceActions } from './commands.js';
import { LbaLock } from './lba-lock.js';
import { ScsiError, checkCondition, invalidCdbField, reservationConflict } from './sense.js';
import { INTERNAL_TARGET_FAILURE, INVALID_COMMAND_OPERATION_CODE } from './spec/sense.js';
import type { SenseCode } from './spec/sense.js';
import { ModeParameters } from './spc-mode.js';
import { CopyResults } from './spc-xcopy.js';
import { PersistentReservations, Spc2Reservation } from './spc-pr.js';
import type { ItNexus, LogicalUnitSource, PrStore, ScsiCommand, ScsiResponse } from './types.js';
import { UnitAttentions, nexusKey } from './unit-attention.js';

export class LogicalUnit {
  readonly source: LogicalUnitSource;
  /** The LU's identity (its NAA designator): PR state is saved under it. */
  readonly luId: string;
  /** @internal Pending unit attentions per I_T nexus. */
  readonly ua = new UnitAttentions();
  /** @internal Persistent reservations. */
  readonly pr: PersistentReservations;
  /** @internal RESERVE(6)/(10) reservation. */
  readonly spc2 = new Spc2Reservation();
  /** @internal Mode parameters (write cache enable, software write protect). */
  readonly mode = new ModeParameters();
  /** @internal Serialises overlapping writes and COMPARE AND WRITE. */
  readonly lbaLock = new LbaLock();
  /** @internal Results of EXTENDED COPY held for RECEIVE COPY RESULTS. */
  readonly copyResults = new CopyResults();

  constructor(source: LogicalUnitSource, prStore?: PrStore) {
    this.source = source;
    this.luId = source.naa;
    this.pr = new PersistentReservations(source.naa, prStore);
  }

  get device(): LogicalUnitSource['device'] {
    return this.source.device;
  }

  /**
   * Establishes a unit attention condition (e.g. ASYMMETRIC ACCESS STATE
   * CHANGED, CAPACITY DATA HAS CHANGED) for one I_T nexus or for every
   * nexus that knows this LU. Nexuses that have not met the LU yet get POWER ON
   * first, which covers any change before it.
   */
  queueUnitAttention(code: SenseCode, scope: 'all' | ItNexus): void {
    if (scope === 'all') this.ua.establishAll(code);
    else {
      const k = nexusKey(scope);
      this.ua.notice(k);
      this.ua.establish(k, code);
    }
  }

  /** @internal A reset of the LU (SAM-5 6.3): RESERVE(6) reservations go, every nexus is told. */
  reset(code: SenseCode, cold = false): void {
    this.spc2.holder = undefined;
    if (cold) {
      this.mode.wce = true;
      this.mode.swp = false;
    }
    this.ua.establishAll(code);
  }

  /** @internal The I_T nexus is gone (or starts afresh): drop what belonged to it, except registrations. */
  forgetNexus(key: string): void {
    this.ua.forget(key);
    if (this.spc2.holder === key) this.spc2.holder = undefined;
  }

  /**
   * Runs one command addressed to this LU. Never throws. `peers` lists the LUs the
   * nexus may address (the target knows them); alone, an LU knows only itself.
   */
  async execute(cmd: ScsiCommand, peers?: () => LogicalUnit[]): Promise<ScsiResponse> {
    const cdb = padCdb(cmd.cdb);
    const spec = findCommand(cdb);
    let res: ScsiResponse;
    try {
      res = await this.run(cmd, cdb, spec, peers);
    } catch (e) {
      res = e instanceof ScsiError ? e.response() : checkCondition(INTERNAL_TARGET_FAILURE).response();
    }
    if (spec?.dataOutLength) res.dataOutLength = spec.dataOutLength(cdb, this.device.blockSize);
    return res;
  }

  private async run(cmd: ScsiCommand, cdb: Buffer, spec: CommandSpec | undefined, peers?: () => LogicalUnit[]): Promise<ScsiResponse> {
    const key = nexusKey(cmd.nexus);
    this.ua.notice(key);
    // Unit attentions come first (SAM-5 5.14), for every command but the three that never see them.
    if (!spec?.noUnitAttention) {
      const ua = this.ua.take(key);
      if (ua !== undefined) throw checkCondition(ua);
    }
    if (!spec) {
      if (hasServiceActions(cdb[0]!)) throw invalidCdbField(1, 4);
      throw checkCondition(INVALID_COMMAND_OPERATION_CODE, { field: { cdb: true, byte: 0 } });
    }
    checkAluaAccess(portState(this.source.portGroups(), cmd.nexus.targetPortGroup, cmd.nexus.relativeTargetPortId), spec.alua);
    if (this.spc2.holder !== undefined && this.spc2.holder !== key && !spec.spc2Allowed) throw reservationConflict();
    if (this.pr.conflicts(key, spec.pr)) throw reservationConflict();
    const ctx: CommandContext = { lu: this, cmd, cdb, nexus: cmd.nexus, key, peers };
    return await spec.handler(ctx);
  }
}
