// REST routes of alerts: where events are forwarded (webhook, syslog, SNMP traps).
import { SEVERITIES } from './events.js';
import type { ApiRoute } from './route.js';

export const ALERTS = {
  list: { method: 'GET', path: '/api/v1/alerts', tag: 'alerts', summary: 'Alerts: each destination (redacted), minimum severity and event ids' },
  create: {
    method: 'POST',
    path: '/api/v1/alerts',
    tag: 'alerts',
    summary: 'Forward events to a webhook, a syslog receiver (RFC 5424 over UDP or TCP) or an SNMP v2c trap receiver',
    body: {
      name: { type: 'string', required: true, description: 'the alert name' },
      webhook: { type: 'string', description: 'an http:// or https:// URL: one JSON POST per event' },
      syslog: { type: 'string', description: 'HOST:PORT of a syslog receiver' },
      transport: { type: 'string', enum: ['udp', 'tcp'], description: 'syslog transport (default udp)' },
      snmp: { type: 'string', description: 'HOST:PORT of an SNMP trap receiver (traps of KURA-MIB)' },
      community: { type: 'string', description: 'SNMP v2c community (default public)' },
      minSeverity: { type: 'string', enum: SEVERITIES, description: 'the least severity forwarded (default warning)' },
      events: { type: 'string[]', description: 'only these event ids (exact ids, or a prefix ending in * like KURA-E1*); default all' },
    },
    status: 201,
  },
  test: {
    method: 'POST',
    path: '/api/v1/alerts/{name}/test',
    tag: 'alerts',
    summary: 'Send a test event (KURA-I8300) to one alert now; 502 with the reason when it does not arrive',
    lockExempt: true,
  },
  delete: { method: 'DELETE', path: '/api/v1/alerts/{name}', tag: 'alerts', summary: 'Delete an alert', status: 204 },
} satisfies Record<string, ApiRoute>;
