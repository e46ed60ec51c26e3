// A blocking HTTP request, for the parts of the ArrayAgent contract that answer
// synchronously (lists, lookups, the configuration lock, VVOL bindings): the
// embedded array answers them from memory, a remote one only over the network.
// A worker thread makes the request; the caller's thread sleeps in Atomics.wait
// until the answer is on the port (no busy wait), at most `timeoutMs`. While it
// waits, this thread's event loop does not run: keep timeouts short.
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';

export interface SyncRequest {
  id: number;
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export interface SyncReply {
  id: number;
  /** 0 when no answer came (error says why). */
  status: number;
  text: string;
  error?: string;
}

export class SyncHttp {
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private readonly channel = new MessageChannel();
  private readonly worker: Worker;
  private nextId = 1;

  constructor() {
    this.worker = new Worker(new URL('./sync-worker.js', import.meta.url), {
      workerData: { flag: this.flag, port: this.channel.port2 },
      transferList: [this.channel.port2],
    });
    this.worker.unref();
    this.channel.port1.unref();
  }

  request(req: Omit<SyncRequest, 'id'>): SyncReply {
    const id = this.nextId++;
    this.channel.port1.postMessage({ ...req, id });
    // A little over the worker's own timeout: it always answers, even a failure.
    const deadline = Date.now() + req.timeoutMs + 1000;
    for (;;) {
      const seen = Atomics.load(this.flag, 0);
      const m = receiveMessageOnPort(this.channel.port1);
      if (m) {
        const reply = m.message as SyncReply;
        if (reply.id === id) return reply;
        continue; // the late answer of a request that timed out before
      }
      const left = deadline - Date.now();
      if (left <= 0) return { id, status: 0, text: '', error: `no answer within ${req.timeoutMs} ms` };
      Atomics.wait(this.flag, 0, seen, left);
    }
  }

  close(): Promise<number> {
    this.channel.port1.close();
    return this.worker.terminate();
  }
}
