// Live updates: one Server-Sent Events connection per page to /console/events,
// fanned out to the views that listen. A view loads its data with useResource,
// which reloads it when an event it cares about arrives (debounced), or a
// signal it listens to (a change that is not an event: the path states
// pathd agents report), and, when asked, polls while something it shows is
// in progress (a pair copying).
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { StoredEventView } from './types.js';

type Listener = (e: StoredEventView) => void;
export type LiveState = 'connecting' | 'live' | 'retrying';

const listeners = new Set<Listener>();
/** The server's signals (SSE event names other than kura) and who listens to them. */
export type Signal = 'paths';
const signalListeners = new Set<(s: Signal) => void>();
const stateListeners = new Set<(s: LiveState) => void>();
let liveState: LiveState = 'connecting';
let retryMs = 1000;

function setState(s: LiveState): void {
  liveState = s;
  for (const l of stateListeners) l(s);
}

/** Opens the stream; on a refusal or a lost connection it retries with back-off (and finds an ended session). */
export function startLive(): void {
  const es = new EventSource('/console/events');
  es.onopen = () => {
    retryMs = 1000;
    setState('live');
  };
  es.addEventListener('kura', (m) => {
    const e = JSON.parse((m as MessageEvent<string>).data) as StoredEventView;
    for (const l of listeners) l(e);
  });
  es.addEventListener('paths', () => {
    for (const l of signalListeners) l('paths');
  });
  es.onerror = () => {
    if (es.readyState !== EventSource.CLOSED) {
      setState('connecting');
      return;
    }
    // The browser gave up (the server refused): check the session, then try again later.
    setState('retrying');
    es.close();
    void fetch('/api/v1/array', { credentials: 'same-origin' }).then((r) => {
      if (r.status === 401) location.assign('/login');
    });
    setTimeout(startLive, retryMs);
    retryMs = Math.min(retryMs * 2, 30_000);
  };
}

export function useLiveState(): LiveState {
  const [s, set] = useState(liveState);
  useEffect(() => {
    stateListeners.add(set);
    return () => void stateListeners.delete(set);
  }, []);
  return s;
}

/** Calls fn for every live event while the component is mounted. */
export function useEvents(fn: Listener): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    const l: Listener = (e) => ref.current(e);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
}

export interface Resource<T> {
  data: T | undefined;
  error: Error | undefined;
  /** When the data was last loaded. */
  updated: Date | undefined;
  reload: () => void;
}

export interface ResourceOptions<T> {
  /** Which live events make the data stale (default: every event). */
  on?: (e: StoredEventView) => boolean;
  /** Signals that make the data stale too. */
  signals?: Signal[];
  /** Poll this often (ms) while it returns a number, e.g. while a copy runs. */
  pollMs?: (data: T) => number | null;
}

export function useResource<T>(load: () => Promise<T>, deps: unknown[], opts: ResourceOptions<T> = {}): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [updated, setUpdated] = useState<Date | undefined>(undefined);
  const seq = useRef(0);
  const optsRef = useRef(opts);
  optsRef.current = opts;
  const reload = useCallback(() => {
    const my = ++seq.current;
    load().then(
      (d) => {
        if (my !== seq.current) return;
        setData(d);
        setError(undefined);
        setUpdated(new Date());
      },
      (e: unknown) => {
        if (my === seq.current) setError(e as Error);
      },
    );
  }, deps);
  useEffect(reload, [reload]);
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const soon = () => {
    if (pending.current !== undefined) return;
    pending.current = setTimeout(() => {
      pending.current = undefined;
      reload();
    }, 200);
  };
  useEvents((e) => {
    if (optsRef.current.on && !optsRef.current.on(e)) return;
    soon();
  });
  const soonRef = useRef(soon);
  soonRef.current = soon;
  useEffect(() => {
    const l = (s: Signal) => {
      if (optsRef.current.signals?.includes(s)) soonRef.current();
    };
    signalListeners.add(l);
    return () => void signalListeners.delete(l);
  }, []);
  useEffect(() => () => clearTimeout(pending.current), []);
  const poll = data !== undefined && opts.pollMs ? opts.pollMs(data) : null;
  useEffect(() => {
    if (poll === null) return;
    const t = setTimeout(reload, poll);
    return () => clearTimeout(t);
  }, [poll, data, reload]);
  return { data, error, updated, reload };
}
