// Runs `kura serve` (KURA_REAL_BIN) counting its GCs, for bench/cost.ts:
// SIGUSR1 clears the counts, SIGUSR2 writes them with the heap sizes to KURA_GC_OUT.
import fs from 'node:fs';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';
import v8 from 'node:v8';

const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
let counts: Record<string, { n: number; ms: number }> = {};
new PerformanceObserver((list) => {
  for (const e of list.getEntries() as Array<PerformanceEntry & { detail?: { kind?: number } }>) {
    const kind = KINDS[e.detail?.kind ?? -1] ?? 'other';
    const c = (counts[kind] ??= { n: 0, ms: 0 });
    c.n++;
    c.ms += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
process.on('SIGUSR1', () => (counts = {}));
process.on('SIGUSR2', () => {
  const h = v8.getHeapStatistics();
  fs.writeFileSync(process.env.KURA_GC_OUT!, JSON.stringify({ gc: counts, heapUsedMB: h.used_heap_size / 2 ** 20 }));
});
process.argv.splice(1, 1, process.env.KURA_REAL_BIN!);
await import(process.env.KURA_REAL_BIN!);
