// REST routes of the event log.
import type { ApiRoute } from './route.js';

/** Event severities, as the event routes accept them. */
export const SEVERITIES = ['info', 'warning', 'error'];

export const EVENTS = {
  list: {
    method: 'GET',
    path: '/api/v1/events',
    tag: 'events',
    summary: 'Events: the newest `limit` (default 100) matching the filters, oldest first (newest last) unless order=desc',
    query: {
      limit: { type: 'integer', description: 'how many of the newest matching events, 1 to 10000 (default 100)' },
      severity: { type: 'string', enum: SEVERITIES, description: 'only events of this severity' },
      since: { type: 'integer', description: 'only events whose seq is greater than this (for polling)' },
      order: { type: 'string', enum: ['asc', 'desc'], description: 'asc (default): oldest first, newest last; desc: newest first' },
    },
  },
  record: {
    method: 'POST',
    path: '/api/v1/events',
    tag: 'events',
    summary: 'Record an event reported by a host-side agent (kura pathd): its id, severity and text, source host:NAME',
    body: {
      id: { type: 'string', required: true, description: 'the event id, KURA-[EWI]nnnn' },
      severity: { type: 'string', required: true, enum: SEVERITIES, description: 'info, warning or error' },
      host: { type: 'string', required: true, description: 'the reporting host or agent' },
      text: { type: 'string', required: true, description: 'what happened' },
    },
    status: 201,
    lockExempt: true,
  },
} satisfies Record<string, ApiRoute>;
