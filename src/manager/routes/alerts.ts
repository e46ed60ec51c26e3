// Alerts over REST: rules that forward events (src/ops/alerts).
import type { Severity } from '../../array/agent.js';
import { ALERTS } from '../../api/alerts.js';
import type { AlertDispatcher } from '../../ops/alerts/dispatcher.js';
import { publicRule, redactedTarget } from '../../ops/alerts/rules.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';
import type { Changed } from './bind.js';

export function alertRoutes(alerts: AlertDispatcher, changed: Changed): Route[] {
  return bind(ALERTS, {
    list: () => alerts.list().map(publicRule),
    create: ({ body }) => {
      const r = alerts.add({
        name: body['name'] as string,
        webhook: body['webhook'] as string | undefined,
        syslog: body['syslog'] as string | undefined,
        snmp: body['snmp'] as string | undefined,
        transport: body['transport'] as 'udp' | 'tcp' | undefined,
        community: body['community'] as string | undefined,
        minSeverity: body['minSeverity'] as Severity | undefined,
        events: body['events'] as string[] | undefined,
      });
      changed('KURA-I8301', `alert/${r.name}`, `Alert ${r.name} created: ${r.kind} ${redactedTarget(r)}, ${r.minSeverity} and above.`);
      return publicRule(r);
    },
    test: ({ params }) => alerts.test(params['name']!),
    delete: ({ params }) => {
      const r = alerts.delete(params['name']!);
      changed('KURA-I8302', `alert/${r.name}`, `Alert ${r.name} deleted.`);
      return undefined;
    },
  });
}
