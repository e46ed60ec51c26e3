// The floating-IP resource: ADDRESS/PREFIX on an interface of the node, in the
// node's network namespace when it has one (`kura cluster node --netns`).
// After adding it the node sends a gratuitous ARP (iputils arping -U), so the
// neighbours' caches point at this node's MAC at once instead of when their
// entries for the address expire.
import { execFile } from 'node:child_process';
import type { IpResource } from './model.js';

function ip(netns: string | undefined, args: string[]): Promise<{ code: number; out: string }> {
  const argv = netns ? ['-n', netns, ...args] : args;
  return new Promise((resolve) => {
    execFile('ip', argv, { timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}`.trim() });
    });
  });
}

/** Adds the address; an address already there (a restart) is fine. */
export async function addAddress(r: IpResource, netns: string | undefined): Promise<void> {
  const res = await ip(netns, ['addr', 'add', `${r.address}/${r.prefix}`, 'dev', r.iface]);
  if (res.code !== 0 && !/File exists/.test(res.out)) throw new Error(`ip addr add ${r.address}/${r.prefix} dev ${r.iface}: ${res.out}`);
}

/** Removes the address; one already gone is fine. */
export async function removeAddress(r: IpResource, netns: string | undefined): Promise<void> {
  const res = await ip(netns, ['addr', 'del', `${r.address}/${r.prefix}`, 'dev', r.iface]);
  if (res.code !== 0 && !/Cannot assign|not found/i.test(res.out)) throw new Error(`ip addr del ${r.address}/${r.prefix} dev ${r.iface}: ${res.out}`);
}

/**
 * Announces the address with one unsolicited (gratuitous) ARP request from the interface.
 * Resolves with the reason it could not be sent, or undefined; arping waits about a second
 * after sending, so callers do not wait for it.
 */
export function announce(r: IpResource, netns: string | undefined): Promise<string | undefined> {
  const arping = ['arping', '-U', '-c', '1', '-I', r.iface, r.address];
  const [cmd, ...args] = netns ? ['ip', 'netns', 'exec', netns, ...arping] : arping;
  return new Promise((resolve) => {
    execFile(cmd!, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve(undefined);
      resolve((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'arping is not installed (Debian iputils-arping)' : `${stderr}`.trim() || err.message);
    });
  });
}
