// The floating-IP resource: ADDRESS/PREFIX on an interface of the node, in the
// node's network namespace when it has one (`kura cluster node --netns`).
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
