// Starting a listener and reading where it is bound. Node reports a failed bind
// (EADDRINUSE, EACCES) as an 'error' event, not through listen()'s callback, so
// every listener needs the same small promise around it.
import type net from 'node:net';

/** Listens on HOST:PORT, or on a Unix socket path; resolves once bound, rejects with the bind error. */
export function listenOn(server: net.Server, where: { host: string; port: number } | { path: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const bound = () => {
      server.off('error', reject);
      resolve();
    };
    if ('path' in where) server.listen(where.path, bound);
    else server.listen(where.port, where.host, bound);
  });
}

/** The host and port a TCP listener is bound to (after listenOn resolved). */
export function boundAddress(server: net.Server): { host: string; port: number } {
  const a = server.address() as net.AddressInfo;
  return { host: a.address, port: a.port };
}
