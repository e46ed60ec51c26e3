// The I/O control (QoS) slice of the array agent contract.
import type { LdInfo } from '../lds/agent.js';
import type { PoolInfo } from '../pools/agent.js';

export interface QosAgent {
  /** Sets an LD's IOPS limits (0 clears one); needs the IOLoadManager licence. */
  setQos(ld: string | number, limits: { upper?: number; lower?: number }): Promise<LdInfo>;
  setPoolQosDefaults(pool: string | number, limits: { upper?: number; lower?: number }): Promise<PoolInfo>;
  /** Turns the pool's I/O control mode on or off (IOLoadManager licence). */
  setPoolQosMode(pool: string | number, mode: string): Promise<PoolInfo>;
}
