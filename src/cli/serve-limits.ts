// The resource limits of `kura serve`: the I/O buffer budget shared by NBD and
// iSCSI, the connection cap of each listener, the NBD handshake timeout and the
// API's idle timeout. Parsed from the command line, fitted under the process's
// open-file limit, and handed to each listener.
import type { Command } from 'commander';
import { IoBudget, DEFAULT_IO_BUDGET, MIN_IO_BUDGET } from '../limits/io-budget.js';
import { fitCaps, openFileCount, openFileLimit } from '../limits/fd-limit.js';
import { DEFAULT_HTTP_IDLE_TIMEOUT_MS, DEFAULT_HTTP_MAX_CONNECTIONS } from '../manager/manager.js';
import type { HttpLimits } from '../manager/manager.js';
import { DEFAULT_NBD_HANDSHAKE_TIMEOUT_MS, DEFAULT_NBD_MAX_CONNECTIONS } from '../nbd/server.js';
import { DEFAULT_ISCSI_MAX_CONNECTIONS } from '../iscsi/server.js';
import { argError, intArg, sizeArg } from './units.js';
import { IO_MEMORY_TOO_SMALL, LIMIT_FLAG_RANGE, TIMEOUT_FLAG_RANGE } from '../catalogue/protocols.js';

export interface ServeLimits {
  ioMemory: number;
  nbdMaxConnections: number;
  iscsiMaxConnections: number;
  httpMaxConnections: number;
  nbdHandshakeTimeoutMs: number;
  httpIdleTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServeLimits = {
  ioMemory: DEFAULT_IO_BUDGET,
  nbdMaxConnections: DEFAULT_NBD_MAX_CONNECTIONS,
  iscsiMaxConnections: DEFAULT_ISCSI_MAX_CONNECTIONS,
  httpMaxConnections: DEFAULT_HTTP_MAX_CONNECTIONS,
  nbdHandshakeTimeoutMs: DEFAULT_NBD_HANDSHAKE_TIMEOUT_MS,
  httpIdleTimeoutMs: DEFAULT_HTTP_IDLE_TIMEOUT_MS,
};

export function limitOptions(cmd: Command): void {
  cmd
    .option(
      '--io-memory <size>',
      `bytes of I/O buffers NBD and iSCSI hold at most, together (default ${DEFAULT_IO_BUDGET >> 20}MiB, at least ${MIN_IO_BUDGET >> 20}MiB)`,
    )
    .option('--nbd-max-connections <n>', `NBD connections open at once (default ${DEFAULT_NBD_MAX_CONNECTIONS})`)
    .option('--iscsi-max-connections <n>', `connections open at once per iSCSI portal (default ${DEFAULT_ISCSI_MAX_CONNECTIONS})`)
    .option('--http-max-connections <n>', `API connections open at once (default ${DEFAULT_HTTP_MAX_CONNECTIONS})`)
    .option(
      '--nbd-handshake-timeout <seconds>',
      `close an NBD connection that has not chosen an export within this time (default ${DEFAULT_NBD_HANDSHAKE_TIMEOUT_MS / 1000})`,
    )
    .option(
      '--http-idle-timeout <seconds>',
      `close a new API connection that has not sent its request within this time (default ${DEFAULT_HTTP_IDLE_TIMEOUT_MS / 1000})`,
    );
}

/** A count flag (a connection cap): a whole number from 1 to 1,000,000. */
export function count(v: string | undefined, flag: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = intArg(v, flag);
  if (n < 1 || n > 1_000_000) throw argError(LIMIT_FLAG_RANGE, { flag, n });
  return n;
}

/** A timeout flag in seconds (0.1 to 86,400), as milliseconds. */
export function seconds(v: string | undefined, flag: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0.1 || n > 86_400) throw argError(TIMEOUT_FLAG_RANGE, { flag, v });
  return Math.round(n * 1000);
}

/** The limits from `kura serve`'s options (commander's camelCase keys). */
export function parseLimits(o: Record<string, string | undefined>): ServeLimits {
  let ioMemory = DEFAULT_IO_BUDGET;
  if (o.ioMemory !== undefined) {
    ioMemory = sizeArg(o.ioMemory, '--io-memory');
    if (ioMemory < MIN_IO_BUDGET) throw argError(IO_MEMORY_TOO_SMALL, { ioMemory: o.ioMemory, minMib: MIN_IO_BUDGET >> 20 });
  }
  return {
    ioMemory,
    nbdMaxConnections: count(o.nbdMaxConnections, '--nbd-max-connections', DEFAULT_NBD_MAX_CONNECTIONS),
    iscsiMaxConnections: count(o.iscsiMaxConnections, '--iscsi-max-connections', DEFAULT_ISCSI_MAX_CONNECTIONS),
    httpMaxConnections: count(o.httpMaxConnections, '--http-max-connections', DEFAULT_HTTP_MAX_CONNECTIONS),
    nbdHandshakeTimeoutMs: seconds(o.nbdHandshakeTimeout, '--nbd-handshake-timeout', DEFAULT_NBD_HANDSHAKE_TIMEOUT_MS),
    httpIdleTimeoutMs: seconds(o.httpIdleTimeout, '--http-idle-timeout', DEFAULT_HTTP_IDLE_TIMEOUT_MS),
  };
}

/** What each listener is given. */
export interface ListenerLimits {
  http: HttpLimits;
  nbd: { ioBudget: IoBudget; maxConnections: number; handshakeTimeoutMs: number };
  iscsi: { ioBudget: IoBudget; maxConnectionsPerPortal: number };
}

/** Makes the shared I/O budget and fits the caps under `ulimit -n`, saying so in the log when they must shrink. */
export function startLimits(l: ServeLimits = DEFAULT_LIMITS, log: (m: string) => void): ListenerLimits {
  const budget = new IoBudget({ limit: l.ioMemory, log });
  const fit = fitCaps(
    { nbd: l.nbdMaxConnections, iscsi: l.iscsiMaxConnections, portals: 2, http: l.httpMaxConnections },
    openFileLimit(),
    openFileCount() ?? 0,
  );
  if (fit.warning) log(fit.warning);
  log(
    `limits: I/O buffers ${budget.limit >> 20} MiB; connections NBD ${fit.caps.nbd}, iSCSI ${fit.caps.iscsi} per portal, API ${fit.caps.http}; ` +
      `NBD handshake ${l.nbdHandshakeTimeoutMs / 1000} s, API idle ${l.httpIdleTimeoutMs / 1000} s; open-file limit ${openFileLimit() ?? 'unknown'}`,
  );
  return {
    http: { maxConnections: fit.caps.http, idleTimeoutMs: l.httpIdleTimeoutMs },
    nbd: { ioBudget: budget, maxConnections: fit.caps.nbd, handshakeTimeoutMs: l.nbdHandshakeTimeoutMs },
    iscsi: { ioBudget: budget, maxConnectionsPerPortal: fit.caps.iscsi },
  };
}
