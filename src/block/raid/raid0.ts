// RAID0: chunks striped across the PDs, one copy each.
import type { RaidLevel } from './level.js';

export const raid0: RaidLevel = {
  name: 'RAID0',
  spellings: ['0'],
  defaultPdCount: 1,
  pdCountRule: '1 to 64',
  acceptsPdCount: (pds) => pds >= 1,
  stripeWidth: (pds) => pds,
  place(index, pds) {
    const on = [index % pds];
    return { row: Math.floor(index / pds), read: on, write: on };
  },
  survives: (_pds, failed) => failed.size === 0,
  needsResync: false,
};
