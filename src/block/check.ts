// STUB: offline pool checker, being written by the block engineer.
export interface CheckReport {
  ok: boolean;
  faults: string[];
  pools: Array<{ name: string; chunks: number; allocated: number; lds: number }>;
}
export function checkDataDir(_dataDir: string): CheckReport {
  throw new Error('not implemented');
}
