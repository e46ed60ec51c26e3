// Assembles a volume's device stack from an ordered list of layers, bottom first:
// the first layer sits on the base device (the LD), the last is what the front
// ends see. A layer is a factory, so the list says in one place which layers a
// volume gets and in which order; adding one is adding its factory to the list.
import type { BlockDevice } from './device.js';

/**
 * Builds one layer over the device below. `base` is the bottom of the stack (the LD),
 * for layers that key state by volume (QoS flows, replication pairs).
 */
export type Layer<Base extends BlockDevice = BlockDevice> = (below: BlockDevice, base: Base) => BlockDevice;

export function buildStack<Base extends BlockDevice>(base: Base, layers: ReadonlyArray<Layer<Base>>): BlockDevice {
  let top: BlockDevice = base;
  for (const layer of layers) top = layer(top, base);
  return top;
}
