// The thread behind SyncHttp (sync-http.ts): it makes the HTTP request the main
// thread waits for, posts the answer on the port, then wakes the main thread.
import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { SyncReply, SyncRequest } from './sync-http.js';

const { flag, port } = workerData as { flag: Int32Array; port: MessagePort };

port.on('message', (req: SyncRequest) => {
  void (async () => {
    let reply: SyncReply;
    try {
      const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body, signal: AbortSignal.timeout(req.timeoutMs) });
      reply = { id: req.id, status: res.status, text: await res.text() };
    } catch (e) {
      reply = { id: req.id, status: 0, text: '', error: (e as Error).message };
    }
    port.postMessage(reply);
    Atomics.add(flag, 0, 1);
    Atomics.notify(flag, 0);
  })();
});
