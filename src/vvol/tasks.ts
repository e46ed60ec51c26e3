// Asynchronous tasks (VASA's TaskInfo, GetTaskUpdate): long operations run as
// tasks with a state, progress, a result or an error, and may be cancelled.
// Snapshot, clone, linked clone and migration tasks count against the array's
// limit of concurrent operations (VVM L1615-L1619); the rest of them wait in a
// FIFO queue. Every state change is handed to `persist` (the store) so a
// restart finds the tasks; a task that was queued or running then ends in
// error (the provider cleaned up what it had made).
import { KuraError, asKuraError } from '../errors.js';
import { FINISHED_TASKS_KEPT } from './limits.js';
import { noSuchTask, taskCancelled, taskFinished } from './messages.js';

export type TaskKind = 'snapshot' | 'clone' | 'linked-clone' | 'migrate' | 'delete-snapshot';
export type TaskState = 'queued' | 'running' | 'success' | 'error' | 'cancelled';

/** Kinds the seed's concurrency limit counts (VVM L1615-L1616). */
const COUNTED: ReadonlySet<TaskKind> = new Set(['snapshot', 'clone', 'linked-clone', 'migrate']);

export interface TaskInfo {
  id: string;
  kind: TaskKind;
  state: TaskState;
  /** 0-100. */
  progress: number;
  /** VVOLs the task works on. */
  vvols: string[];
  result: unknown;
  error: { id: string; message: string; action: string } | null;
  cancelRequested: boolean;
  created: string;
  started: string | null;
  finished: string | null;
}

export interface TaskContext {
  readonly id: string;
  setProgress(percent: number): void;
  /** Progress read when somebody asks (a copy knows its own); replaces setProgress values. */
  progressFrom(fn: () => number): void;
  /** Registers what cancelling a running task does (stop a copy); without one a running task cannot be cut short. */
  onCancel(fn: () => void): void;
  readonly cancelled: boolean;
}

interface Entry {
  info: TaskInfo;
  progress?: () => number;
  run: (ctx: TaskContext) => Promise<unknown>;
  cancel?: () => void;
  done: Promise<TaskInfo>;
  resolve: (t: TaskInfo) => void;
}

const ENDED: ReadonlySet<TaskState> = new Set(['success', 'error', 'cancelled']);

export class TaskRunner {
  private readonly tasks = new Map<string, Entry>();
  private readonly queue: Entry[] = [];
  private running = 0;
  private seq = 0;

  constructor(
    readonly maxConcurrent: number,
    private readonly persist: (t: TaskInfo) => void,
    private readonly now: () => string,
    restored: TaskInfo[] = [],
  ) {
    for (const t of restored) {
      this.seq = Math.max(this.seq, Number(t.id.replace(/^task-/, '')) || 0);
      const e = this.entry({ ...t });
      e.resolve(e.info);
      this.tasks.set(t.id, e);
    }
  }

  private entry(info: TaskInfo, run: Entry['run'] = async () => undefined): Entry {
    let resolve!: (t: TaskInfo) => void;
    const done = new Promise<TaskInfo>((r) => (resolve = r));
    return { info, run, done, resolve };
  }

  submit(kind: TaskKind, vvols: string[], run: (ctx: TaskContext) => Promise<unknown>): TaskInfo {
    const id = `task-${++this.seq}`;
    const info: TaskInfo = {
      id,
      kind,
      state: 'queued',
      progress: 0,
      vvols,
      result: null,
      error: null,
      cancelRequested: false,
      created: this.now(),
      started: null,
      finished: null,
    };
    const e = this.entry(info, run);
    this.tasks.set(id, e);
    this.forget();
    if (COUNTED.has(kind) && this.running >= this.maxConcurrent) {
      this.persist(info);
      this.queue.push(e);
    } else this.start(e);
    return { ...info };
  }

  private start(e: Entry): void {
    const counted = COUNTED.has(e.info.kind);
    if (counted) this.running++;
    e.info.state = 'running';
    e.info.started = this.now();
    this.persist(e.info);
    const ctx: TaskContext = {
      id: e.info.id,
      setProgress: (p) => {
        e.info.progress = Math.max(0, Math.min(100, Math.floor(p)));
      },
      progressFrom: (fn) => {
        e.progress = fn;
      },
      onCancel: (fn) => {
        e.cancel = fn;
      },
      get cancelled() {
        return e.info.cancelRequested;
      },
    };
    // Started on the next turn so that submit() returns the queued/running state first.
    void Promise.resolve()
      .then(() => e.run(ctx))
      .then(
        // A task that finished although cancelled came too late to stop: it succeeded.
        (result) => this.end(e, 'success', result, null),
        (err) => this.end(e, e.info.cancelRequested ? 'cancelled' : 'error', null, e.info.cancelRequested ? taskCancelled(e.info.id) : asKuraError(err)),
      )
      .finally(() => {
        if (counted) {
          this.running--;
          const next = this.queue.shift();
          if (next) this.start(next);
        }
      });
  }

  private end(e: Entry, state: TaskState, result: unknown, error: KuraError | null): void {
    e.info.state = state;
    e.info.result = result ?? null;
    e.info.error = error ? error.toJSON() : null;
    if (state === 'success') e.info.progress = 100;
    delete e.progress;
    e.info.finished = this.now();
    try {
      this.persist(e.info);
    } catch {
      // The store is closed or failing: the outcome still reaches waiters; a restart reports the task as interrupted.
    }
    e.resolve({ ...e.info });
  }

  get(id: string): TaskInfo {
    const e = this.tasks.get(id);
    if (!e) throw noSuchTask(id);
    return this.view(e);
  }

  private view(e: Entry): TaskInfo {
    if (e.progress && e.info.state === 'running') e.info.progress = Math.max(0, Math.min(99, Math.floor(e.progress())));
    return { ...e.info };
  }

  list(): TaskInfo[] {
    return [...this.tasks.values()].map((e) => this.view(e));
  }

  /** Resolves when the task has ended (whatever the outcome). */
  wait(id: string): Promise<TaskInfo> {
    const e = this.tasks.get(id);
    if (!e) return Promise.reject(noSuchTask(id));
    return e.done;
  }

  /** Counted tasks running and waiting. */
  load(): { running: number; queued: number; max: number } {
    return { running: this.running, queued: this.queue.length, max: this.maxConcurrent };
  }

  /** A queued task ends at once; a running one is asked to stop (copies stop, short steps finish). */
  cancel(id: string): TaskInfo {
    const e = this.tasks.get(id);
    if (!e) throw noSuchTask(id);
    if (ENDED.has(e.info.state)) throw taskFinished(id, e.info.state);
    e.info.cancelRequested = true;
    const i = this.queue.indexOf(e);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.end(e, 'cancelled', null, taskCancelled(id));
    } else {
      this.persist(e.info);
      e.cancel?.();
    }
    return { ...e.info };
  }

  /** Keeps the newest finished tasks only. */
  private forget(): void {
    const ended = [...this.tasks.values()].filter((e) => ENDED.has(e.info.state));
    for (const e of ended.slice(0, Math.max(0, ended.length - FINISHED_TASKS_KEPT))) this.tasks.delete(e.info.id);
  }
}
