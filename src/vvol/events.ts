// Events and alarms as values (VASA's GetEvents / GetAlarms, StorageEvent and
// StorageAlarm): every configuration change the provider makes is an event,
// every warning it gives is also an alarm. Each carries a sequence number so a
// client asks for what came after the last one it saw. Kept in memory (the
// newest EVENTS_KEPT); the manager forwards them to its own event log.
import { EVENTS_KEPT } from './limits.js';

export type VvolEventKind = 'config' | 'alarm';

export interface VvolEvent {
  seq: number;
  time: string;
  kind: VvolEventKind;
  /** Stable message id (KURA-I3xxx for changes, the warning's KURA-W3xxx for alarms). */
  id: string;
  severity: 'info' | 'warning';
  /** The object: a VVOL, PE or container id, or a policy name. */
  object: string;
  text: string;
}

export class EventLog {
  private readonly events: VvolEvent[] = [];
  private seq = 0;
  private readonly listeners = new Set<(e: VvolEvent) => void>();

  constructor(private readonly now: () => string) {}

  emit(kind: VvolEventKind, id: string, object: string, text: string): VvolEvent {
    const e: VvolEvent = { seq: ++this.seq, time: this.now(), kind, id, severity: kind === 'alarm' ? 'warning' : 'info', object, text };
    this.events.push(e);
    if (this.events.length > EVENTS_KEPT) this.events.splice(0, this.events.length - EVENTS_KEPT);
    for (const l of this.listeners) l(e);
    return e;
  }

  /** Events after sequence number `since`, oldest first. */
  list(since = 0, kind?: VvolEventKind): VvolEvent[] {
    return this.events.filter((e) => e.seq > since && (kind === undefined || e.kind === kind));
  }

  onEvent(fn: (e: VvolEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
