// What GET /metrics shows: the array's I/O counters per LD and per front-end
// port (operations, bytes, latency histograms, queue depth), LD and pool
// capacity, replication pairs' copy progress and differences, controller and
// port states, what other parts of the manager add (alert deliveries, path
// states reported by pathd agents) and the process's own figures. Everything
// is read from the agent at scrape time; nothing is kept between scrapes.
//
// Label cardinality (docs/operations.md): per LD 43 series, of which the
// I/O ones exist only for LDs opened by a front end since the start and for
// at most `maxIoLds` of them (the rest are summed into ld="_other"); per
// port 41 (the ports are fixed: NBD and the controllers' host ports); per
// pool 5; per pair 5; per controller 1 and per host port 1.
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ArrayAgent, IoSnapshot } from '../../array/agent.js';
import { LATENCY_BUCKETS } from '../../io/io-counters.js';
import { iscsiPortKey } from '../../array/iscsi-front-end.js';
import { MetricsText } from './text-format.js';
import type { Labels } from './text-format.js';

/** LDs whose I/O series are shown one by one; the rest are summed into ld="_other". */
export const DEFAULT_MAX_IO_LDS = 1024;
/** The label value of the LDs beyond the cap. */
export const OTHER_LDS = '_other';

/** A part of the manager that adds its own families (alerts, path reports). */
export type MetricsContributor = (m: MetricsText) => void;

export interface MetricsOptions {
  agent: ArrayAgent;
  contributors?: MetricsContributor[];
  maxIoLds?: number;
}

const START_SECONDS = Date.now() / 1000 - process.uptime();
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();

function addIo(into: IoSnapshot, io: IoSnapshot): void {
  into.readOps += io.readOps;
  into.writeOps += io.writeOps;
  into.otherOps += io.otherOps;
  into.readBytes += io.readBytes;
  into.writeBytes += io.writeBytes;
  into.errors += io.errors;
  into.inflight += io.inflight;
  for (const [a, b] of [
    [into.readLatency, io.readLatency],
    [into.writeLatency, io.writeLatency],
  ] as const) {
    b.buckets.forEach((n, i) => (a.buckets[i] = (a.buckets[i] ?? 0) + n));
    a.sumSeconds += b.sumSeconds;
  }
}

function emptyIo(): IoSnapshot {
  const z = () => ({ buckets: LATENCY_BUCKETS.map(() => 0), sumSeconds: 0 });
  return { readOps: 0, writeOps: 0, otherOps: 0, readBytes: 0, writeBytes: 0, errors: 0, inflight: 0, readLatency: z(), writeLatency: z() };
}

/** The I/O families of one kind of object (kura_ld_*, kura_port_*): one sample each per object. */
function ioFamilies(m: MetricsText, prefix: string, what: string, rows: Array<{ labels: Labels; io: IoSnapshot }>): void {
  const counter = (name: string, help: string, pick: (io: IoSnapshot) => number) => {
    m.family(`${prefix}_${name}`, 'counter', `${help} (${what}).`);
    for (const r of rows) m.sample(`${prefix}_${name}`, r.labels, pick(r.io));
  };
  counter('read_ops_total', 'Read operations completed', (io) => io.readOps);
  counter('write_ops_total', 'Write operations completed', (io) => io.writeOps);
  counter('other_ops_total', 'Other operations completed: flush, unmap, write zeroes, non-I/O SCSI commands', (io) => io.otherOps);
  counter('read_bytes_total', 'Bytes read', (io) => io.readBytes);
  counter('write_bytes_total', 'Bytes written', (io) => io.writeBytes);
  counter('errors_total', 'Operations that failed', (io) => io.errors);
  m.family(`${prefix}_queue_depth`, 'gauge', `Operations in flight now (${what}).`);
  for (const r of rows) m.sample(`${prefix}_queue_depth`, r.labels, r.io.inflight);
  for (const [dir, pick] of [
    ['read', (io: IoSnapshot) => io.readLatency],
    ['write', (io: IoSnapshot) => io.writeLatency],
  ] as const) {
    const name = `${prefix}_${dir}_latency_seconds`;
    m.family(name, 'histogram', `Time from the ${dir} request to its completion (${what}).`);
    for (const r of rows) {
      const h = pick(r.io);
      m.histogram(name, r.labels, LATENCY_BUCKETS, h.buckets, h.sumSeconds);
    }
  }
}

function processFamilies(m: MetricsText): void {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  m.family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.');
  m.sample('process_cpu_seconds_total', undefined, (cpu.user + cpu.system) / 1e6);
  m.family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.');
  m.sample('process_resident_memory_bytes', undefined, mem.rss);
  m.family('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.');
  m.sample('process_start_time_seconds', undefined, Math.round(START_SECONDS));
  let fds: number | undefined;
  try {
    fds = fs.readdirSync('/proc/self/fd').length;
  } catch {
    fds = undefined;
  }
  if (fds !== undefined) {
    m.family('process_open_fds', 'gauge', 'Number of open file descriptors.');
    m.sample('process_open_fds', undefined, fds);
  }
  m.family('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use, bytes.');
  m.sample('nodejs_heap_used_bytes', undefined, mem.heapUsed);
  m.family('nodejs_heap_total_bytes', 'gauge', 'V8 heap reserved, bytes.');
  m.sample('nodejs_heap_total_bytes', undefined, mem.heapTotal);
  m.family('nodejs_external_memory_bytes', 'gauge', 'Memory of C++ objects bound to JavaScript (buffers), bytes.');
  m.sample('nodejs_external_memory_bytes', undefined, mem.external);
  m.family('nodejs_eventloop_lag_p99_seconds', 'gauge', '99th percentile of the event loop delay since the last scrape, seconds.');
  m.sample('nodejs_eventloop_lag_p99_seconds', undefined, loopDelay.percentile(99) / 1e9);
  loopDelay.reset();
}

export function renderMetrics(o: MetricsOptions): string {
  const { agent } = o;
  const m = new MetricsText();
  const info = agent.info();
  m.family('kura_info', 'gauge', 'The array: its name, serial and Kura version (always 1).');
  m.sample('kura_info', { array: info.name, serial: info.serial, version: info.version }, 1);
  m.family('kura_metadata_memory_bytes', 'gauge', 'Bytes of in-memory metadata: map pages, top-level maps and chunk refcounts.');
  m.sample('kura_metadata_memory_bytes', undefined, info.memory.metadataBytes);

  // I/O per LD and per port.
  const stats = agent.ioStats?.();
  if (stats) {
    const max = o.maxIoLds ?? DEFAULT_MAX_IO_LDS;
    const rows = stats.lds.slice(0, max).map((l) => ({ labels: { ld: l.ld, pool: l.pool }, io: l.io }));
    if (stats.lds.length > max) {
      const other = emptyIo();
      for (const l of stats.lds.slice(max)) addIo(other, l.io);
      rows.push({ labels: { ld: OTHER_LDS, pool: OTHER_LDS }, io: other });
    }
    ioFamilies(m, 'kura_ld', 'per LD, as front ends asked for it', rows);
    ioFamilies(
      m,
      'kura_port',
      'per front-end port',
      stats.ports.map((p) => ({ labels: { port: p.port, protocol: p.protocol, controller: p.controller === null ? '' : String(p.controller) }, io: p.io })),
    );
  }

  // Capacity.
  const lds = agent.lds.listLds();
  m.family('kura_ld_capacity_bytes', 'gauge', 'Virtual capacity of the LD.');
  for (const l of lds) m.sample('kura_ld_capacity_bytes', { ld: l.name, pool: l.pool }, l.capacity);
  m.family('kura_ld_allocated_bytes', 'gauge', 'Pool space mapped by the LD.');
  for (const l of lds) m.sample('kura_ld_allocated_bytes', { ld: l.name, pool: l.pool }, l.allocated);
  const pools = agent.pools.listPools();
  m.family('kura_pool_capacity_bytes', 'gauge', 'Usable physical capacity of the pool (after RAID).');
  for (const p of pools) m.sample('kura_pool_capacity_bytes', { pool: p.name }, p.capacity);
  m.family('kura_pool_used_bytes', 'gauge', 'Physical capacity of the pool in use.');
  for (const p of pools) m.sample('kura_pool_used_bytes', { pool: p.name }, p.used);
  m.family('kura_pool_virtual_capacity_bytes', 'gauge', "Sum of the virtual capacities of the pool's LDs.");
  for (const p of pools) m.sample('kura_pool_virtual_capacity_bytes', { pool: p.name }, p.virtualCapacity);
  m.family('kura_pool_threshold_ratio', 'gauge', 'Actual-capacity threshold of the pool, as a fraction of its capacity.');
  for (const p of pools) m.sample('kura_pool_threshold_ratio', { pool: p.name }, p.threshold / 100);
  m.family('kura_pool_ready', 'gauge', '1 when the pool is ready, 0 when degraded or offline.');
  for (const p of pools) m.sample('kura_pool_ready', { pool: p.name, state: p.state }, p.state === 'ready' ? 1 : 0);

  // Replication pairs.
  const pairs = agent.pairs.listPairs();
  const pl = (p: { mv: string; rv: string }) => ({ mv: p.mv, rv: p.rv });
  m.family('kura_pair_copy_progress_ratio', 'gauge', 'Fraction of the running (or last) copy done.');
  for (const p of pairs) m.sample('kura_pair_copy_progress_ratio', pl(p), p.progress / 100);
  m.family('kura_pair_copied_bytes', 'gauge', 'Bytes the running (or last) copy has copied.');
  for (const p of pairs) m.sample('kura_pair_copied_bytes', pl(p), p.copiedBytes);
  m.family('kura_pair_copy_difference_bytes', 'gauge', 'Bytes the running copy still has to copy, or a replicate or restore would copy.');
  for (const p of pairs) m.sample('kura_pair_copy_difference_bytes', pl(p), p.copyDiffBytes);
  m.family('kura_pair_separate_difference_bytes', 'gauge', 'Bytes changed on either volume since the separate.');
  for (const p of pairs) m.sample('kura_pair_separate_difference_bytes', pl(p), p.separateDiffBytes);
  m.family('kura_pair_state', 'gauge', 'The pair in its sync state (always 1; the state is the label).');
  for (const p of pairs) m.sample('kura_pair_state', { ...pl(p), sync: p.sync }, 1);

  // Controllers and host ports.
  const ctls = agent.controllers.listControllers();
  m.family('kura_controller_up', 'gauge', '1 when the controller is online.');
  for (const c of ctls) m.sample('kura_controller_up', { controller: String(c.number) }, c.state === 'online' ? 1 : 0);
  m.family('kura_host_port_up', 'gauge', '1 when the iSCSI host port accepts connections.');
  for (const c of ctls)
    for (const p of c.ports)
      m.sample(
        'kura_host_port_up',
        { port: iscsiPortKey({ controller: c.number, relativeTargetPortId: p.relativeTargetPortId }), controller: String(c.number) },
        p.state === 'up' ? 1 : 0,
      );

  for (const c of o.contributors ?? []) c(m);
  processFamilies(m);
  return m.text();
}
