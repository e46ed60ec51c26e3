// Controllers and their host ports, with fault injection: taking a controller
// or a port down (and back) moves LD ownership and tells the front ends.
import type { LogicalDisk } from '../../block/logical-disk.js';
import type { TargetPortGroupInfo } from '../../scsi/types.js';
import type { ConfigQueue } from '../config-queue.js';
import type { Emit } from '../events/hub.js';
import type { FrontEnds } from '../front-ends.js';
import type { ControllerAgent, ControllerInfo } from './agent.js';
import type { Controllers, HostPort } from './controllers.js';
import { CONTROLLER_DOWN, CONTROLLER_DOWN_EVENT, PORT_DOWN_EVENT } from '../../catalogue/array.js';

export interface ControllerDeps {
  controllers: Controllers;
  config: ConfigQueue;
  emit: Emit;
  frontEnds: FrontEnds;
  /** Every LD, by number. */
  lds(): LogicalDisk[];
}

export class ControllerService implements ControllerAgent {
  constructor(private readonly deps: ControllerDeps) {}

  /** Every host port (iSCSI portal) of both controllers. */
  hostPorts(): HostPort[] {
    return this.deps.controllers.ports.map((p) => ({ ...p }));
  }

  /** A front end bound a host port configured with port 0 to this port. */
  bindHostPort(relativeTargetPortId: number, port: number): void {
    const p = this.deps.controllers.ports.find((x) => x.relativeTargetPortId === relativeTargetPortId);
    if (p) p.port = port;
  }

  /** ALUA target port groups of an LD, with their states now. */
  portGroupsOf(l: LogicalDisk): TargetPortGroupInfo[] {
    return this.deps.controllers.portGroups(l.rec.defaultOwner);
  }

  listControllers(): ControllerInfo[] {
    const { controllers } = this.deps;
    return controllers.states.map((state, number) => ({
      number,
      state,
      ports: controllers.ports
        .filter((p) => p.controller === number)
        .map((p) => ({ host: p.host, port: p.port, state: p.state, portalGroupTag: p.portalGroupTag, relativeTargetPortId: p.relativeTargetPortId })),
    }));
  }

  setControllerState(n: number, state: 'online' | 'down'): Promise<ControllerInfo[]> {
    return this.deps.config.run(async () => {
      const { controllers, frontEnds } = this.deps;
      controllers.check(n);
      if (controllers.states[n] === state) return this.listControllers();
      const before = new Map(this.deps.lds().map((l) => [l.rec.number, controllers.currentOwner(l.rec.defaultOwner)]));
      controllers.states[n] = state;
      for (const p of controllers.ports.filter((x) => x.controller === n)) {
        if (state === 'down') {
          p.state = 'down';
          frontEnds.portDown(p.host, p.port);
        } else {
          p.state = 'up';
          await frontEnds.portUp(p.host, p.port);
        }
      }
      const moved = this.deps.lds().filter((l) => before.get(l.rec.number) !== controllers.currentOwner(l.rec.defaultOwner));
      const controller = String(n).padStart(2, '0');
      // Info events (KURA-I) are not catalogued: they ask nothing of anyone.
      this.deps.emit(
        state === 'down'
          ? { id: CONTROLLER_DOWN_EVENT.id, severity: 'error', source: `controller/${n}`, text: CONTROLLER_DOWN_EVENT({ controller, moved: moved.length }) }
          : {
              id: 'KURA-I2053',
              severity: 'info',
              source: `controller/${n}`,
              text: `Controller ${controller} is online; ${moved.length} LD(s) returned to their default owner.`,
            },
      );
      // Every LU's ALUA states change when a controller's state does (its group turns unavailable or back).
      frontEnds.aluaChanged(this.deps.lds().map((l) => l.rec.number));
      return this.listControllers();
    });
  }

  setPortState(host: string, port: number, state: 'up' | 'down'): Promise<ControllerInfo[]> {
    return this.deps.config.run(async () => {
      const { controllers, frontEnds } = this.deps;
      const p = controllers.port(host, port);
      if (state === 'up' && controllers.states[p.controller] !== 'online') {
        throw CONTROLLER_DOWN({ host, port, controller: p.controller });
      }
      if (p.state === state) return this.listControllers();
      p.state = state;
      if (state === 'down') frontEnds.portDown(host, port);
      else await frontEnds.portUp(host, port);
      this.deps.emit(
        state === 'down'
          ? { id: PORT_DOWN_EVENT.id, severity: 'warning', source: `port/${host}:${port}`, text: PORT_DOWN_EVENT({ host, port, controller: p.controller }) }
          : { id: 'KURA-I2056', severity: 'info', source: `port/${host}:${port}`, text: `Host port ${host}:${port} (controller ${p.controller}) is up.` },
      );
      return this.listControllers();
    });
  }
}
