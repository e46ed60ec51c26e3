// Rules snapshots and clones share: how many generations, clones and layers an
// LD may have, and that an LD with fast clones (an FEV) goes after them.
import type { LogicalDisk } from '../../block/logical-disk.js';
import type { Catalog } from '../catalog.js';
import { LD_IS_FEV } from '../../catalogue/array.js';

export const MAX_GENERATIONS = 256;
export const MAX_FCVS_PER_FEV = 256;
/** Layers of snapshots and clones above an ordinary LD (layer 0). */
export const MAX_LAYERS = 64;

export function refuseIfFev(catalog: Catalog, l: LogicalDisk): void {
  const n = catalog.clonesOf(l).length;
  if (n > 0) {
    throw LD_IS_FEV({ l: l.name, n });
  }
}
