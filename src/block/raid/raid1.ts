// RAID1: every PD holds every chunk.
import type { RaidLevel } from './level.js';

export const raid1: RaidLevel = {
  name: 'RAID1',
  spellings: ['1'],
  defaultPdCount: 2,
  pdCountRule: '2 to 64',
  acceptsPdCount: (pds) => pds >= 2,
  stripeWidth: () => 1,
  place(index, pds) {
    const all = Array.from({ length: pds }, (_, i) => i);
    return { row: index, read: all, write: all };
  },
  survives: (pds, failed) => failed.size < pds,
  needsResync: true,
};
