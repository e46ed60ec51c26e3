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
  // Counts failures, not which PDs failed: a group is offline only when all its PDs are.
  survives: (pds, failed) => failed < pds,
  needsResync: true,
};
