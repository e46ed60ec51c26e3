// The array's two controllers and their host ports, with the ownership rule:
// an LD is served optimally by its current owner, which is its default owner
// while that controller is online and the surviving controller otherwise.
import { KuraError } from '../../errors.js';
import type { PortGroupState, TargetPortGroupInfo } from '../../scsi/types.js';

export type ControllerState = 'online' | 'down';
export type PortState = 'up' | 'down';

export interface HostPort {
  controller: number;
  host: string;
  port: number;
  /** iSCSI target portal group tag = SCSI target port; one per host port. */
  portalGroupTag: number;
  relativeTargetPortId: number;
  state: PortState;
}

export const CONTROLLER_COUNT = 2;

/** ALUA target port group id of a controller: the controller number itself, as the seed numbers them (00, 01). */
export function tpgOf(controller: number): number {
  return controller;
}

export class Controllers {
  readonly states: ControllerState[] = Array.from({ length: CONTROLLER_COUNT }, () => 'online');
  readonly ports: HostPort[] = [];

  /** Host ports in order: the n-th address belongs to controller n. */
  constructor(addresses: Array<{ host: string; port: number }>) {
    addresses.forEach((a, i) => {
      this.ports.push({ controller: i % CONTROLLER_COUNT, host: a.host, port: a.port, portalGroupTag: i + 1, relativeTargetPortId: i + 1, state: 'up' });
    });
  }

  check(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n >= CONTROLLER_COUNT) {
      throw new KuraError('KURA-E2050', 'EINVAL', `Controller ${n} does not exist.`, `Give a controller number from 0 to ${CONTROLLER_COUNT - 1}.`);
    }
  }

  port(host: string, port: number): HostPort {
    const p = this.ports.find((x) => x.host === host && x.port === port);
    if (!p) throw new KuraError('KURA-E2051', 'ENOENT', `Host port ${host}:${port} does not exist.`, 'List host ports with kura array show.');
    return p;
  }

  /** The controller that serves an LD now, or -1 when none is online. */
  currentOwner(defaultOwner: number): number {
    if (this.states[defaultOwner] === 'online') return defaultOwner;
    const other = this.states.findIndex((s) => s === 'online');
    return other;
  }

  portGroups(defaultOwner: number): TargetPortGroupInfo[] {
    const owner = this.currentOwner(defaultOwner);
    const groups: TargetPortGroupInfo[] = [];
    for (let c = 0; c < CONTROLLER_COUNT; c++) {
      const state: PortGroupState = this.states[c] !== 'online' ? 'unavailable' : c === owner ? 'active/optimized' : 'active/non-optimized';
      groups.push({ id: tpgOf(c), state, relativeTargetPortIds: this.ports.filter((p) => p.controller === c).map((p) => p.relativeTargetPortId) });
    }
    return groups;
  }
}
