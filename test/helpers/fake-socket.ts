// An in-memory stand-in for an accepted net.Socket, for fuzzing the protocol
// parsers in process: bytes are handed to the server with feed() (a 'data'
// event, as a socket emits it) and whatever the server writes is counted and
// dropped. Fast enough for millions of connections.
import type net from 'node:net';
import { Duplex } from 'node:stream';

export class FakeSocket extends Duplex {
  remoteAddress = '192.0.2.1';
  remotePort = 40000;
  localAddress = '127.0.0.1';
  localPort = 0;
  /** Bytes the server wrote. */
  sent = 0;

  setNoDelay(): this {
    return this;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.sent += chunk.length;
    cb();
  }

  /** Delivers bytes as one received chunk. */
  feed(b: Buffer): void {
    if (!this.destroyed) this.emit('data', b);
  }

  /** The same object, typed as what servers accept. */
  get asSocket(): net.Socket {
    return this as unknown as net.Socket;
  }
}
