// The ArrayAgent contract over HTTP: what a manager holds for a remote array
// (kura array). Changing calls carry the fencing token `fencing()` gives and
// are refused here, before anything is sent, while `acting()` says the manager
// may not act (its etcd lease could not be refreshed in time). The
// synchronous part of the contract is answered by a blocking request
// (sync-http.ts); array events arrive by long polling.
import type { ArrayAgent, ArrayEvent } from '../agent.js';
import { AGENT_METHODS, FENCING_HEADER, INFO_WIRE, reviveWire } from './methods.js';
import type { MethodWire } from './methods.js';
import { SyncHttp } from './sync-http.js';
import type { SyncReply } from './sync-http.js';
import { agentError } from './server.js';
import type { AgentIdentity } from './server.js';
import { AGENT_NO_FENCING, AGENT_UNREACHABLE } from '../../catalogue/ha.js';
import type { KuraError } from '../../errors.js';

export interface AgentClientOptions {
  /** http://HOST:PORT of the array agent. */
  url: string;
  token: string;
  /** The fencing header value ("active:TOKEN") or undefined while this caller holds no role. */
  fencing?: () => string | undefined;
  /** Throws while the caller may not act (lease not refreshed in time). */
  checkActing?: () => void;
  /** Array name in errors. */
  label?: string;
  timeoutMs?: number;
}

export interface RemoteArrayAgent extends ArrayAgent {
  identity(): Promise<AgentIdentity>;
  /** Raises the array's highest token of `role` (a new active does this before anything else). */
  fence(role: string, token: number): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 5000;
const POLL_WAIT_MS = 20_000;

export function httpArrayAgent(opts: AgentClientOptions): RemoteArrayAgent {
  const base = opts.url.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const label = opts.label ?? base;
  let sync: SyncHttp | null = null;
  const listeners = new Set<(e: ArrayEvent) => void>();
  let polling = false;
  let closed = false;
  let pollAbort: AbortController | null = null;

  const headersFor = (wire: MethodWire | null): Record<string, string> => {
    const h: Record<string, string> = { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' };
    if (wire?.changes) {
      opts.checkActing?.();
      const f = opts.fencing?.();
      if (f === undefined) throw AGENT_NO_FENCING({ array: label });
      h[FENCING_HEADER] = f;
    }
    return h;
  };
  const answer = (r: { status: number; text: string; error?: string }): unknown => {
    if (r.status === 0) throw AGENT_UNREACHABLE({ url: base, reason: r.error ?? 'no answer' });
    let json: { result?: unknown; error?: Record<string, unknown> };
    try {
      json = JSON.parse(r.text, reviveWire) as typeof json;
    } catch {
      throw AGENT_UNREACHABLE({ url: base, reason: `answer ${r.status} is not JSON` });
    }
    if (r.status !== 200) {
      if (json.error && typeof json.error['id'] === 'string') throw agentError(json.error, r.status);
      throw AGENT_UNREACHABLE({ url: base, reason: `answer ${r.status}` });
    }
    return json.result === null ? undefined : json.result;
  };
  const post = async (path: string, headers: Record<string, string>, body: unknown): Promise<unknown> => {
    let r: SyncReply | { status: number; text: string; error?: string };
    try {
      const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
      r = { status: res.status, text: await res.text() };
    } catch (e) {
      r = { status: 0, text: '', error: (e as Error).message };
    }
    return answer(r);
  };
  const callAsync = (method: string, wire: MethodWire, args: unknown[]): Promise<unknown> => {
    let headers: Record<string, string>;
    try {
      headers = headersFor(wire);
    } catch (e) {
      return Promise.reject(e as KuraError);
    }
    return post('/agent/v1/call', headers, { method, args });
  };
  const callSync = (method: string, wire: MethodWire, args: unknown[]): unknown => {
    const headers = headersFor(wire);
    sync ??= new SyncHttp();
    return answer(sync.request({ url: `${base}/agent/v1/call`, method: 'POST', headers, body: JSON.stringify({ method, args }), timeoutMs }));
  };

  const poll = async (): Promise<void> => {
    let after = -1;
    while (!closed && listeners.size > 0) {
      pollAbort = new AbortController();
      try {
        const res = await fetch(`${base}/agent/v1/events?after=${after}&waitMs=${after < 0 ? 0 : POLL_WAIT_MS}`, {
          headers: { authorization: `Bearer ${opts.token}` },
          signal: AbortSignal.any([pollAbort.signal, AbortSignal.timeout(POLL_WAIT_MS + timeoutMs)]),
        });
        const body = (await res.json()) as { seq: number; events?: Array<{ seq: number; event: ArrayEvent }> };
        if (res.status !== 200) throw new Error(`answer ${res.status}`);
        for (const e of body.events ?? []) for (const l of listeners) l(e.event);
        // A restarted array counts from 0 again.
        after = body.seq < after ? -1 : body.seq;
      } catch {
        if (closed) break;
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
    polling = false;
  };

  const stub = (name: string, wire: MethodWire) =>
    wire.sync ? (...args: unknown[]) => callSync(name, wire, args) : (...args: unknown[]) => callAsync(name, wire, args);
  const agent: Record<string, unknown> = {
    info: stub('info', INFO_WIRE),
    ioStats: stub('ioStats', INFO_WIRE),
    identity: async () => {
      const res = await fetch(`${base}/agent/v1/identity`, { headers: headersFor(null), signal: AbortSignal.timeout(timeoutMs) }).catch((e: Error) => {
        throw AGENT_UNREACHABLE({ url: base, reason: e.message });
      });
      const text = await res.text();
      if (res.status !== 200) answer({ status: res.status, text });
      return JSON.parse(text) as AgentIdentity;
    },
    fence: async (role: string, token: number) => {
      await post('/agent/v1/fence', headersFor(null), { role, token });
    },
    events: {
      onEvent: (l: (e: ArrayEvent) => void) => {
        listeners.add(l);
        if (!polling) {
          polling = true;
          void poll();
        }
        return () => listeners.delete(l);
      },
    },
    close: async () => {
      closed = true;
      pollAbort?.abort();
      listeners.clear();
      await sync?.close();
    },
  };
  // One object per noun, one stub per method: "noun.method" on the wire.
  for (const [noun, methods] of Object.entries(AGENT_METHODS)) {
    const slice: Record<string, unknown> = {};
    for (const [method, wire] of Object.entries(methods as Record<string, MethodWire>)) slice[method] = stub(`${noun}.${method}`, wire);
    agent[noun] = slice;
  }
  return agent as unknown as RemoteArrayAgent;
}
