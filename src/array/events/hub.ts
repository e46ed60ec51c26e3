// The array's own events: the services raise them, listeners (the manager's
// event store) receive them.
import type { ArrayEvent, EventAgent } from './agent.js';

/** How a service raises an event; the hub stamps the time. */
export type Emit = (e: Omit<ArrayEvent, 'time'>) => void;

export class EventHub implements EventAgent {
  private listeners: Array<(e: ArrayEvent) => void> = [];

  readonly emit: Emit = (e) => {
    const ev: ArrayEvent = { time: new Date().toISOString(), ...e };
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch {
        // Listeners must not disturb the array.
      }
    }
  };

  onEvent(listener: (e: ArrayEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }
}
