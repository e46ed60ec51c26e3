// Reservations: persistent reservations (SPC-4 5.12, PERSISTENT RESERVE IN 6.15,
// PERSISTENT RESERVE OUT 6.16) with all six types, per-I_T-nexus registrations,
// ALL_TG_PT and APTPL; and the older RESERVE/RELEASE(6)/(10) reservations, which
// SPC-4 keeps for compatibility (the CRH rules of SPC-4 5.12.3 decide where they meet).
import { allocate, u16, u32 } from './cdb.js';
import type { CommandContext, PrClass } from './command.js';
import { checkCondition, good, invalidCdbField, invalidParameterField, parameterListLengthError, reservationConflict } from './sense.js';
import { INVALID_RELEASE_OF_PERSISTENT_RESERVATION, REGISTRATIONS_PREEMPTED, RESERVATIONS_PREEMPTED, RESERVATIONS_RELEASED } from './spec/sense.js';
import {
  PRIN_READ_FULL_STATUS,
  PRIN_READ_KEYS,
  PRIN_READ_RESERVATION,
  PRIN_REPORT_CAPABILITIES,
  PROUT_BASIC_LENGTH,
  PROUT_CLEAR,
  PROUT_PREEMPT,
  PROUT_PREEMPT_AND_ABORT,
  PROUT_REGISTER,
  PROUT_REGISTER_AND_IGNORE_EXISTING_KEY,
  PROUT_RELEASE,
  PROUT_RESERVE,
  PR_SCOPE_LU,
  PR_TYPES,
  PR_TYPE_EXCLUSIVE_ACCESS_ALL_REGISTRANTS,
  PR_TYPE_EXCLUSIVE_ACCESS_REGISTRANTS_ONLY,
  PR_TYPE_WRITE_EXCLUSIVE,
  PR_TYPE_WRITE_EXCLUSIVE_ALL_REGISTRANTS,
  PR_TYPE_WRITE_EXCLUSIVE_REGISTRANTS_ONLY,
} from './spec/pr.js';
import { RELEASE_6, RESERVE_6 } from './spec/opcodes.js';
import type { PrStore, ScsiResponse } from './types.js';
import type { UnitAttentions } from './unit-attention.js';

const PR_TYPE_CODES = Object.values(PR_TYPES);

function allRegistrants(type: number): boolean {
  return type === PR_TYPE_WRITE_EXCLUSIVE_ALL_REGISTRANTS || type === PR_TYPE_EXCLUSIVE_ACCESS_ALL_REGISTRANTS;
}
function registrantsOnly(type: number): boolean {
  return type === PR_TYPE_WRITE_EXCLUSIVE_REGISTRANTS_ONLY || type === PR_TYPE_EXCLUSIVE_ACCESS_REGISTRANTS_ONLY;
}
function writeExclusiveKind(type: number): boolean {
  return type === PR_TYPE_WRITE_EXCLUSIVE || type === PR_TYPE_WRITE_EXCLUSIVE_REGISTRANTS_ONLY || type === PR_TYPE_WRITE_EXCLUSIVE_ALL_REGISTRANTS;
}

interface Registration {
  initiatorPort: string;
  relativeTargetPortId: number;
  key: bigint;
  allTgPt: boolean;
}

interface Reservation {
  /** Nexus key of the holder; for all-registrants types every registrant holds it. */
  holder: string;
  type: number;
  scope: number;
}

/** What is saved through the PrStore while APTPL is set. */
interface SavedState {
  version: 1;
  aptpl: boolean;
  generation: number;
  registrations: Array<{ initiatorPort: string; relativeTargetPortId: number; key: string; allTgPt: boolean }>;
  reservation: { initiatorPort: string; relativeTargetPortId: number; type: number; scope: number } | null;
}

function regKey(initiatorPort: string, rtpi: number): string {
  return `${initiatorPort}|${rtpi}`;
}

/** The persistent reservation state of one logical unit. */
export class PersistentReservations {
  generation = 0;
  aptpl = false;
  /** By nexus key, in registration order. */
  readonly registrations = new Map<string, Registration>();
  reservation: Reservation | undefined;

  constructor(
    private readonly luId: string,
    private readonly store?: PrStore,
  ) {
    this.load();
  }

  private load(): void {
    let saved: SavedState | undefined;
    try {
      saved = this.store?.load(this.luId) as SavedState | undefined;
    } catch {
      saved = undefined;
    }
    if (!saved || saved.version !== 1 || !saved.aptpl) return;
    this.aptpl = true;
    this.generation = saved.generation >>> 0;
    for (const r of saved.registrations) {
      this.registrations.set(regKey(r.initiatorPort, r.relativeTargetPortId), {
        initiatorPort: r.initiatorPort,
        relativeTargetPortId: r.relativeTargetPortId,
        key: BigInt(r.key),
        allTgPt: r.allTgPt,
      });
    }
    const res = saved.reservation;
    if (res) {
      const holder = regKey(res.initiatorPort, res.relativeTargetPortId);
      if (this.registrations.has(holder)) this.reservation = { holder, type: res.type, scope: res.scope };
    }
  }

  /** Saves when APTPL asks for it (and once more when APTPL is turned off, so that nothing stale comes back). */
  private persist(wasAptpl: boolean): void {
    if (!this.store || (!this.aptpl && !wasAptpl)) return;
    const state: SavedState = this.aptpl
      ? {
          version: 1,
          aptpl: true,
          generation: this.generation,
          registrations: [...this.registrations.values()].map((r) => ({
            initiatorPort: r.initiatorPort,
            relativeTargetPortId: r.relativeTargetPortId,
            key: '0x' + r.key.toString(16),
            allTgPt: r.allTgPt,
          })),
          reservation: this.reservation
            ? (() => {
                const h = this.registrations.get(this.reservation.holder)!;
                return {
                  initiatorPort: h.initiatorPort,
                  relativeTargetPortId: h.relativeTargetPortId,
                  type: this.reservation.type,
                  scope: this.reservation.scope,
                };
              })()
            : null,
        }
      : { version: 1, aptpl: false, generation: 0, registrations: [], reservation: null };
    this.store.save(this.luId, state);
  }

  isRegistered(key: string): boolean {
    return this.registrations.has(key);
  }

  isHolder(key: string): boolean {
    const r = this.reservation;
    if (!r) return false;
    return allRegistrants(r.type) ? this.registrations.has(key) : r.holder === key;
  }

  /** Whether a command of class `cls` from nexus `key` meets a reservation conflict (SPC-4 5.12.1, table 63). */
  conflicts(key: string, cls: PrClass): boolean {
    const r = this.reservation;
    if (!r || cls === 'allowed' || cls === 'pr-out') return false;
    if (this.isHolder(key)) return false;
    const registered = this.registrations.has(key);
    if (cls === 'read' && writeExclusiveKind(r.type)) return false;
    if ((registrantsOnly(r.type) || allRegistrants(r.type)) && registered) return false;
    return true;
  }

  private bump(): void {
    this.generation = (this.generation + 1) >>> 0;
  }

  /** Drops a registration; a holder that leaves releases its reservation (SPC-4 5.12.11.2.2). */
  private unregister(key: string, ua: UnitAttentions): void {
    this.registrations.delete(key);
    const r = this.reservation;
    if (!r) return;
    if (allRegistrants(r.type)) {
      if (this.registrations.size === 0) this.reservation = undefined;
      else if (r.holder === key) r.holder = this.registrations.keys().next().value!;
      return;
    }
    if (r.holder !== key) return;
    this.reservation = undefined;
    if (registrantsOnly(r.type)) for (const k of this.registrations.keys()) ua.establish(k, RESERVATIONS_RELEASED);
  }

  // ---- PERSISTENT RESERVE IN ----

  in(ctx: CommandContext): ScsiResponse {
    const cdb = ctx.cdb;
    const sa = cdb[1]! & 0x1f;
    const alloc = u16(cdb, 7);
    let data: Buffer;
    switch (sa) {
      case PRIN_READ_KEYS: {
        const regs = [...this.registrations.values()];
        data = Buffer.alloc(8 + 8 * regs.length);
        data.writeUInt32BE(this.generation, 0);
        data.writeUInt32BE(8 * regs.length, 4);
        regs.forEach((r, i) => data.writeBigUInt64BE(r.key, 8 + 8 * i));
        break;
      }
      case PRIN_READ_RESERVATION: {
        const r = this.reservation;
        data = Buffer.alloc(r ? 24 : 8);
        data.writeUInt32BE(this.generation, 0);
        if (r) {
          data.writeUInt32BE(16, 4);
          // All-registrants reservations have no single holder: the key reads as zero.
          data.writeBigUInt64BE(allRegistrants(r.type) ? 0n : this.registrations.get(r.holder)!.key, 8);
          data[21] = ((r.scope & 0xf) << 4) | (r.type & 0xf);
        }
        break;
      }
      case PRIN_REPORT_CAPABILITIES: {
        data = Buffer.alloc(8);
        data.writeUInt16BE(8, 0);
        data[2] = 0x10 | 0x04 | 0x01; // CRH, ATP_C, PTPL_C (SIP_C 0: SPEC_I_PT is refused)
        data[3] = 0x80 | (this.aptpl ? 0x01 : 0); // TMV, PTPL_A
        data[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02; // WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX
        data[5] = 0x01; // EX_AC_AR
        break;
      }
      case PRIN_READ_FULL_STATUS: {
        const parts: Buffer[] = [];
        for (const [k, r] of this.registrations) {
          const tid = transportId(r.initiatorPort);
          const d = Buffer.alloc(24 + tid.length);
          d.writeBigUInt64BE(r.key, 0);
          const holds = this.isHolder(k);
          d[12] = (r.allTgPt ? 0x02 : 0) | (holds ? 0x01 : 0);
          if (holds) d[13] = ((this.reservation!.scope & 0xf) << 4) | (this.reservation!.type & 0xf);
          d.writeUInt16BE(r.relativeTargetPortId & 0xffff, 18);
          d.writeUInt32BE(tid.length, 20);
          tid.copy(d, 24);
          parts.push(d);
        }
        const body = Buffer.concat(parts);
        data = Buffer.alloc(8 + body.length);
        data.writeUInt32BE(this.generation, 0);
        data.writeUInt32BE(body.length, 4);
        body.copy(data, 8);
        break;
      }
      default:
        throw invalidCdbField(1, 4);
    }
    return good(allocate(data, alloc));
  }

  // ---- PERSISTENT RESERVE OUT ----

  out(ctx: CommandContext): ScsiResponse {
    const cdb = ctx.cdb;
    const sa = cdb[1]! & 0x1f;
    const scope = cdb[2]! >> 4;
    const type = cdb[2]! & 0x0f;
    const length = u32(cdb, 5);
    if (sa > PROUT_REGISTER_AND_IGNORE_EXISTING_KEY) throw invalidCdbField(1, 4); // REGISTER AND MOVE is not offered
    if (length < PROUT_BASIC_LENGTH) throw parameterListLengthError();
    const p = ctx.cmd.dataOut ?? Buffer.alloc(0);
    if (p.length < PROUT_BASIC_LENGTH) throw parameterListLengthError();
    const resKey = p.readBigUInt64BE(0);
    const sark = p.readBigUInt64BE(8);
    const specIpt = (p[20]! & 0x08) !== 0;
    const allTgPt = (p[20]! & 0x04) !== 0;
    const aptpl = (p[20]! & 0x01) !== 0;
    if (specIpt && (sa === PROUT_REGISTER || sa === PROUT_REGISTER_AND_IGNORE_EXISTING_KEY)) throw invalidParameterField(20, 3);
    if (length !== PROUT_BASIC_LENGTH) throw parameterListLengthError();
    if (sa === PROUT_RESERVE || sa === PROUT_RELEASE || sa === PROUT_PREEMPT || sa === PROUT_PREEMPT_AND_ABORT) {
      if (scope !== PR_SCOPE_LU) throw invalidCdbField(2, 7);
      if (!PR_TYPE_CODES.includes(type)) throw invalidCdbField(2, 3);
    }
    const me = ctx.key;
    const ua = ctx.lu.ua;
    const wasAptpl = this.aptpl;
    const mine = this.registrations.get(me);

    if (sa === PROUT_REGISTER || sa === PROUT_REGISTER_AND_IGNORE_EXISTING_KEY) {
      const ignore = sa === PROUT_REGISTER_AND_IGNORE_EXISTING_KEY;
      if (!mine) {
        if (!ignore && resKey !== 0n) throw reservationConflict();
        if (sark === 0n) return good();
        const ports = allTgPt ? this.allPorts(ctx) : [ctx.nexus.relativeTargetPortId];
        for (const rtpi of ports) {
          const k = regKey(ctx.nexus.initiatorPort, rtpi);
          if (!this.registrations.has(k)) this.registrations.set(k, { initiatorPort: ctx.nexus.initiatorPort, relativeTargetPortId: rtpi, key: sark, allTgPt });
        }
      } else {
        if (!ignore && resKey !== mine.key) throw reservationConflict();
        if (sark === 0n) this.unregister(me, ua);
        else mine.key = sark;
      }
      this.aptpl = aptpl;
      this.bump();
      this.persist(wasAptpl);
      return good();
    }

    // Every other service action needs a registration whose key the initiator quotes.
    if (!mine || resKey !== mine.key) throw reservationConflict();

    switch (sa) {
      case PROUT_RESERVE: {
        const r = this.reservation;
        if (r) {
          if (this.isHolder(me) && r.type === type && r.scope === scope) return good();
          throw reservationConflict();
        }
        this.reservation = { holder: me, type, scope };
        this.persist(wasAptpl);
        return good();
      }
      case PROUT_RELEASE: {
        const r = this.reservation;
        if (!r || !this.isHolder(me)) return good();
        if (r.type !== type || r.scope !== scope) throw checkCondition(INVALID_RELEASE_OF_PERSISTENT_RESERVATION);
        this.reservation = undefined;
        if (registrantsOnly(r.type) || allRegistrants(r.type)) {
          for (const k of this.registrations.keys()) if (k !== me) ua.establish(k, RESERVATIONS_RELEASED);
        }
        this.persist(wasAptpl);
        return good();
      }
      case PROUT_CLEAR: {
        for (const k of this.registrations.keys()) if (k !== me) ua.establish(k, RESERVATIONS_PREEMPTED);
        this.registrations.clear();
        this.reservation = undefined;
        this.bump();
        this.persist(wasAptpl);
        return good();
      }
      case PROUT_PREEMPT:
      case PROUT_PREEMPT_AND_ABORT:
        this.preempt(me, sark, type, scope, ua);
        this.bump();
        this.persist(wasAptpl);
        return good();
      default:
        throw invalidCdbField(1, 4);
    }
  }

  /** Every relative target port of the LU, for ALL_TG_PT. */
  private allPorts(ctx: CommandContext): number[] {
    const ports = new Set<number>([ctx.nexus.relativeTargetPortId]);
    for (const g of ctx.lu.source.portGroups()) for (const p of g.relativeTargetPortIds) ports.add(p);
    return [...ports].sort((a, b) => a - b);
  }

  /** Removes the registrations holding `sark` (never the requester's own) and returns their nexus keys. */
  private removeKey(me: string, sark: bigint): string[] {
    const gone: string[] = [];
    for (const [k, r] of this.registrations) if (r.key === sark && k !== me) gone.push(k);
    for (const k of gone) this.registrations.delete(k);
    return gone;
  }

  /** PREEMPT and PREEMPT AND ABORT (SPC-4 5.12.11.4). Tasks to abort are the transport's; none are queued here. */
  private preempt(me: string, sark: bigint, type: number, scope: number, ua: UnitAttentions): void {
    const r = this.reservation;
    const ownKey = this.registrations.get(me)!.key;
    if (!r || (allRegistrants(r.type) && sark !== 0n)) {
      // Preempting registrations only.
      if (sark === 0n) throw invalidParameterField(8);
      const gone = this.removeKey(me, sark);
      if (gone.length === 0 && sark !== ownKey) throw reservationConflict();
      for (const k of gone) ua.establish(k, REGISTRATIONS_PREEMPTED);
      if (r && this.registrations.size === 0) this.reservation = undefined;
      return;
    }
    if (allRegistrants(r.type)) {
      // SARK 0 under an all-registrants reservation: everyone else goes, the requester reserves anew.
      const gone = [...this.registrations.keys()].filter((k) => k !== me);
      for (const k of gone) {
        this.registrations.delete(k);
        ua.establish(k, REGISTRATIONS_PREEMPTED);
      }
      this.reservation = { holder: me, type, scope };
      return;
    }
    if (sark === 0n) throw invalidParameterField(8);
    const holderKey = this.registrations.get(r.holder)!.key;
    if (sark !== holderKey) {
      const gone = this.removeKey(me, sark);
      if (gone.length === 0) throw reservationConflict();
      for (const k of gone) ua.establish(k, REGISTRATIONS_PREEMPTED);
      return;
    }
    const gone = this.removeKey(me, sark);
    for (const k of gone) ua.establish(k, REGISTRATIONS_PREEMPTED);
    const changed = r.type !== type || r.scope !== scope;
    this.reservation = { holder: me, type, scope };
    if (changed) for (const k of this.registrations.keys()) if (k !== me) ua.establish(k, RESERVATIONS_RELEASED);
  }
}

/** iSCSI TransportID, format 01b: "name,i,0xISID" (SPC-4 7.6.4.6). */
function transportId(initiatorPort: string): Buffer {
  const name = Buffer.from(initiatorPort, 'utf8');
  const len = (name.length + 1 + 3) & ~3;
  const b = Buffer.alloc(4 + Math.max(len, 20));
  b[0] = 0x40 | 0x05; // FORMAT CODE 01b, PROTOCOL IDENTIFIER iSCSI
  b.writeUInt16BE(b.length - 4, 2);
  name.copy(b, 4);
  return b;
}

// ---- RESERVE(6)/(10) and RELEASE(6)/(10) ----

/** The SPC-2 reservation of one logical unit: one holder, the whole LU, released by resets and nexus loss. */
export class Spc2Reservation {
  holder: string | undefined;

  /** RESERVE(6) and RESERVE(10). */
  reserve(ctx: CommandContext): ScsiResponse {
    const cdb = ctx.cdb;
    if (cdb[0] === RESERVE_6) {
      if (cdb[1]! & 0x1f) throw invalidCdbField(1, 0); // third-party and extent reservations are obsolete
    } else if (cdb[1]! & 0x13) {
      throw invalidCdbField(1, 4); // 3RDPTY, LONGID
    }
    // A persistent reservation excludes the older kind altogether (SPC-4 5.12.3).
    if (ctx.lu.pr.reservation) throw reservationConflict();
    if (this.holder !== undefined && this.holder !== ctx.key) throw reservationConflict();
    this.holder = ctx.key;
    return good();
  }

  /** RELEASE(6) and RELEASE(10): only the holder's release has an effect; anyone else's is a no-op. */
  release(ctx: CommandContext): ScsiResponse {
    const cdb = ctx.cdb;
    if (cdb[0] === RELEASE_6) {
      if (cdb[1]! & 0x1f) throw invalidCdbField(1, 0);
    } else if (cdb[1]! & 0x13) {
      throw invalidCdbField(1, 4);
    }
    if (ctx.lu.pr.reservation && !ctx.lu.pr.isRegistered(ctx.key)) throw reservationConflict();
    if (this.holder === ctx.key) this.holder = undefined;
    return good();
  }
}
