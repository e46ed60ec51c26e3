// RAID10: chunks striped across mirror pairs (PDs 0+1, 2+3, ...).
import type { RaidLevel } from './level.js';

export const raid10: RaidLevel = {
  name: 'RAID10',
  spellings: ['10', '1/10'],
  defaultPdCount: 4,
  pdCountRule: 'an even number from 4 to 64',
  acceptsPdCount: (pds) => pds >= 4 && pds % 2 === 0,
  stripeWidth: (pds) => pds / 2,
  place(index, pds) {
    const width = pds / 2;
    const pair = [2 * (index % width), 2 * (index % width) + 1];
    return { row: Math.floor(index / width), read: pair, write: pair };
  },
  // Every mirror pair needs one good PD: losing both PDs of one pair loses its chunks.
  survives(pds, failed) {
    for (let p = 0; p < pds; p += 2) if (failed.has(p) && failed.has(p + 1)) return false;
    return true;
  },
  needsResync: true,
};
