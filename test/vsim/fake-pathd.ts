// A stand-in for a host's `kura pathd`, for the simulator's failure paths a
// real pathd does not take on demand: the three control calls the simulator
// makes (GET /status, GET /devices, POST /rescan, src/vsim/pathd-client.ts)
// answered from a function of the test, and an NBD listener whose disks drop
// every write and read zeros (a host whose storage loses data).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BlockDevice } from '../../src/block/device.js';
import { NbdServer } from '../../src/nbd/server.js';
import type { PathdDevice } from '../../src/vsim/pathd-client.js';

export interface FakePathd {
  /** Its control URL, as `kura vsim host add --pathd` takes it. */
  control: string;
  stop(): Promise<void>;
}

export async function startFakePathd(o: { initiator: string; nbd: string; devices: () => Promise<PathdDevice[]> }): Promise<FakePathd> {
  const server = http.createServer((req, res) => {
    const answer = async (): Promise<unknown> => {
      if (req.method === 'GET' && req.url === '/api/v1/status') return { initiator: o.initiator, nbd: o.nbd, portals: [] };
      if (req.method === 'GET' && req.url === '/api/v1/devices') return o.devices();
      if (req.method === 'POST' && req.url === '/api/v1/rescan') return { devices: await o.devices() };
      return undefined;
    };
    answer().then(
      (body) => {
        res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body ?? { error: { id: 'NOPE', message: `no ${req.method} ${req.url}` } }));
      },
      (e: Error) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { id: 'FAKE', message: e.message } }));
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    control: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A device of `size` bytes that discards what is written and reads zeros. */
function nullDevice(name: string, size: number): BlockDevice {
  return {
    name,
    blockSize: 512,
    blockCount: size / 512,
    readOnly: false,
    optimalIoSize: 4096,
    read: async (_lba, blocks) => Buffer.alloc(blocks * 512),
    write: async () => undefined,
    flush: async () => undefined,
    unmap: async () => undefined,
    writeZeroes: async () => undefined,
    allocation: async (_lba, blocks) => [{ blocks, hole: true, zero: true }],
  };
}

/** An NBD listener where every export name opens a 4 GiB null device; nbd is its HOST:PORT. */
export async function startNullNbd(): Promise<{ nbd: string; stop(): Promise<void> }> {
  const server = new NbdServer({ exports: { list: () => [], open: (name) => nullDevice(name, 4 * 2 ** 30) } });
  await server.listen('127.0.0.1', 0);
  return { nbd: `127.0.0.1:${server.address().port}`, stop: () => server.close() };
}
