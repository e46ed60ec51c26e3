// The event ids of NEC Storage PathManager (the seed's Table 3-2, PM L115-140)
// with their levels. A pathd event that is one of these carries the seed's id
// and level next to its own KURA id, in the log file, syslog, the control API
// and the array manager's event list, so that monitoring written for the seed's
// event log finds the same numbers. 260 and 261 are not in the seed's table.

export type SeedLevel = 'Info' | 'Warn' | 'Err';

export interface SeedEvent {
  id: number;
  level: SeedLevel;
  event: string;
}

const TABLE: Array<[number, SeedLevel, string]> = [
  [257, 'Info', 'Failover started'],
  [258, 'Warn', 'Failover was done'],
  [259, 'Err', 'Failover failed'],
  [262, 'Err', 'Failback failed'],
  [263, 'Info', 'Failback completed'],
  [264, 'Info', 'Start changing priority'],
  [265, 'Info', 'Changing priority was done'],
  [266, 'Err', 'Failed to change priority'],
  [267, 'Info', 'Start changing LBMode'],
  [268, 'Info', 'LBMode was changed'],
  [269, 'Info', 'Failed to change LBMode'],
  [270, 'Info', 'Path error'],
  [271, 'Info', 'Path error'],
  [272, 'Info', 'AFB started'],
  [273, 'Info', 'AFB was done'],
  [274, 'Info', 'Path was removed'],
  [275, 'Info', 'Effectiveness was changed'],
  [276, 'Warn', 'Failed to change effectiveness'],
  [277, 'Info', 'Mode changed'],
  [278, 'Warn', 'Some paths are not redundant'],
];

export const SEED_EVENTS: ReadonlyMap<number, SeedEvent> = new Map(TABLE.map(([id, level, event]) => [id, { id, level, event }]));

export function seedEvent(id: number): SeedEvent {
  const e = SEED_EVENTS.get(id);
  if (!e) throw new Error(`no PathManager event ${id}`);
  return e;
}

/** How an event names its seed counterpart in log lines, syslog and the manager's text. */
export function seedTag(id: number, level: SeedLevel): string {
  return `[PathManager event ${id} ${level}]`;
}
