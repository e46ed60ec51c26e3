// A cap on the connections one listener keeps open. Connections beyond it are
// closed as soon as they are accepted, so a flood of idle sockets costs a
// bounded number of file descriptors and leaves room for the other listeners
// (the API above all). When the cap bites, one log line says so, at most once
// per interval, with how many were refused since the last line.
import type { EventDef } from '../errors.js';
import type { CapReport } from '../catalogue/protocols.js';

const LOG_INTERVAL_MS = 10_000;

export class ConnectionCap {
  private open = 0;
  private refusedSinceLog = 0;
  private lastLog = 0;

  constructor(
    /** Listener name for the log, e.g. "NBD 127.0.0.1:10809". */
    private readonly what: string,
    readonly max: number,
    private readonly log: (msg: string) => void,
    /** The catalogue's line (each listener family has its own id): NBD_, ISCSI_ or API_CONNECTION_CAP. */
    private readonly report: EventDef<CapReport>,
    private readonly option: string,
  ) {}

  get count(): number {
    return this.open;
  }

  /** Admits a new connection (true) or counts it as refused (false: close it). */
  admit(): boolean {
    if (this.open < this.max) {
      this.open++;
      return true;
    }
    this.refusedSinceLog++;
    const now = Date.now();
    if (now - this.lastLog >= LOG_INTERVAL_MS) {
      this.lastLog = now;
      this.log(`${this.report.id} ${this.report({ listener: this.what, max: this.max, refused: this.refusedSinceLog, option: this.option })}`);
      this.refusedSinceLog = 0;
    }
    return false;
  }

  release(): void {
    if (this.open > 0) this.open--;
  }
}
