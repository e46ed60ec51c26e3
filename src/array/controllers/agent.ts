// The controllers and fault injection slice of the array agent contract.

export interface ControllerInfo {
  number: number;
  state: 'online' | 'down';
  ports: Array<{ host: string; port: number; state: 'up' | 'down'; portalGroupTag: number; relativeTargetPortId: number }>;
}

export interface ControllerAgent {
  listControllers(): ControllerInfo[];
  /** Fault injection: take a controller (with its ports) down or bring it back. */
  setControllerState(n: number, state: 'online' | 'down'): Promise<ControllerInfo[]>;
  setPortState(host: string, port: number, state: 'up' | 'down'): Promise<ControllerInfo[]>;
}
