// The RAID levels by name. A new level is one module here and one entry below.
import { KuraError } from '../../errors.js';
import type { Raid, RaidLevel } from './level.js';
import { raid0 } from './raid0.js';
import { raid1 } from './raid1.js';
import { raid10 } from './raid10.js';
import { RAID_TYPE_UNSUPPORTED } from '../../catalogue/block.js';

export type { ChunkPlacement, Raid, RaidLevel } from './level.js';

export const RAID_LEVELS: readonly RaidLevel[] = [raid0, raid1, raid10];

function unsupported(s: string): KuraError {
  return RAID_TYPE_UNSUPPORTED({ s });
}

/** The level as typed ("1", "raid10", "RAID1/10"), or KURA-E1010. */
export function parseRaid(s: string): Raid {
  const v = s.toUpperCase().replace(/^RAID/, '');
  const level = RAID_LEVELS.find((l) => l.spellings.includes(v));
  if (!level) throw unsupported(s);
  return level.name;
}

/** The module of a level by its stored name. */
export function raidLevel(name: Raid): RaidLevel {
  const level = RAID_LEVELS.find((l) => l.name === name);
  if (!level) throw unsupported(name);
  return level;
}
