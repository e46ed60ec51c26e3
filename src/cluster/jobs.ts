// Jobs of a failover group (`kura cluster job submit`): commands that run to
// their end on the node that runs the group. A job cut off by a failover (its
// node died, or the group stopped or moved while it ran) is marked as the seed
// marks it (`*****` / 0xFFFFFFFF6, "forcibly terminated by failover", L1766) and,
// with auto-restart, runs again from the start on the group's next node.
// Records live in etcd at kura/cluster/jobs/G/ID; only the node that runs the
// group writes them after submission, each write a compare-and-swap on the value
// it read, so a late write of a node that lost the group changes nothing.
import type { ClusterStore } from './store.js';

/** The seed's exit code of a job forcibly terminated by failover. */
export const FAILOVER_CODE = '0xFFFFFFFF6';
/** How the seed's job list shows such a run. */
export const FAILOVER_MARK = '*****';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cutoff';

export interface JobRun {
  node: string;
  started: string;
  ended?: string;
  /** `exit N`, `signal S`, or FAILOVER_CODE for a run cut off by a failover. */
  result?: string;
}

export interface JobRecord {
  group: string;
  id: string;
  command: string;
  autoRestart: boolean;
  state: JobState;
  runs: JobRun[];
}

export function newJob(group: string, id: string, command: string, autoRestart: boolean): JobRecord {
  return { group, id, command, autoRestart, state: 'queued', runs: [] };
}

/** The record after a failover cut its running job off: marked, and queued again with auto-restart. */
export function cutOff(j: JobRecord, now: Date = new Date()): JobRecord {
  const runs = j.runs.map((r, i) => (i === j.runs.length - 1 && r.result === undefined ? { ...r, ended: now.toISOString(), result: FAILOVER_CODE } : r));
  return { ...j, state: j.autoRestart ? 'queued' : 'cutoff', runs };
}

export function started(j: JobRecord, node: string, now: Date = new Date()): JobRecord {
  return { ...j, state: 'running', runs: [...j.runs, { node, started: now.toISOString() }] };
}

export function finished(j: JobRecord, code: number | null, signal: string | null, now: Date = new Date()): JobRecord {
  const result = code === null ? `signal ${signal ?? '?'}` : `exit ${code}`;
  const runs = j.runs.map((r, i) => (i === j.runs.length - 1 ? { ...r, ended: now.toISOString(), result } : r));
  return { ...j, state: code === 0 ? 'done' : 'failed', runs };
}

/** A job that may be submitted again under the same id (it is not waiting or running). */
export function isFinished(j: JobRecord): boolean {
  return j.state === 'done' || j.state === 'failed' || j.state === 'cutoff';
}

/** One line of `job list`: the seed shows a cut-off run's result as ***** (0xFFFFFFFF6). */
export function resultText(r: JobRun | undefined): string {
  if (!r) return '---';
  if (r.result === FAILOVER_CODE) return `${FAILOVER_MARK} (${FAILOVER_CODE})`;
  return r.result ?? 'running';
}

/** Reads a job, applies `fn` and writes the result only if nobody changed the record meanwhile. */
export async function updateJob(store: ClusterStore, group: string, id: string, fn: (j: JobRecord) => JobRecord | undefined): Promise<JobRecord | undefined> {
  const key = store.key('jobs', group, id);
  const old = await store.client.get(key).string();
  if (old === null) return undefined;
  let cur: JobRecord;
  try {
    cur = JSON.parse(old) as JobRecord;
  } catch {
    return undefined;
  }
  const next = fn(cur);
  if (!next) return undefined;
  const r = await store.client
    .if(key, 'Value', '==', old)
    .then(store.client.put(key).value(JSON.stringify(next)))
    .commit();
  return r.succeeded ? next : undefined;
}
