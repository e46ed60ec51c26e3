// The events slice of the array agent contract: what the array tells about itself.

export type Severity = 'info' | 'warning' | 'error';

export interface ArrayEvent {
  time: string;
  /** Stable message id, e.g. KURA-I2001. */
  id: string;
  severity: Severity;
  /** The object the event is about, e.g. "pool/pool0" or "ld/demo0". */
  source: string;
  text: string;
}

export interface EventAgent {
  /** Subscribes to events the array raises itself (faults, thresholds, state changes). */
  onEvent(listener: (e: ArrayEvent) => void): () => void;
}
