// Which pools are Storage Containers (VVM 2.1.2, L179-L205): a flag given when
// the pool is made and never changed after (an existing pool cannot be
// converted, L197), kept in the array's metadata.
import type { MetaStore } from '../../block/meta-store.js';
import type { Pool } from '../../block/pool.js';

const key = (p: Pool): string => `pool_container:${p.id}`;

export class ContainerFlags {
  constructor(private readonly store: MetaStore) {}

  isContainer(p: Pool): boolean {
    return this.store.getMeta(key(p)) === '1';
  }

  mark(p: Pool): void {
    this.store.setMeta(key(p), '1');
  }

  /** A deleted pool's flag goes with it (a later pool may get its id). */
  forget(p: Pool): void {
    this.store.deleteMeta(key(p));
  }
}
