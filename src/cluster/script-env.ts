// The environment a group's start and stop scripts run with (the seed's ARMS_*
// variables, §2 of the CLUSTERPRO summary) and the KURA_* names beside them.
import type { ArmsEvent } from './model.js';

export interface ScriptContext {
  group: string;
  node: string;
  /** START, FAILOVER or RECOVER for start scripts; stop scripts get START or FAILOVER only. */
  event: ArmsEvent;
  phase: 'start' | 'stop';
  server: 'HOME' | 'OTHER';
  diskFailure: boolean;
  serverShutdown: boolean;
  dataDir: string;
  socket: string;
  etcd: string;
}

/** ARMS_* as the seed's scripts read them, with KURA_* equivalents; unset variables stay unset. */
export function scriptEnv(c: ScriptContext, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const k of Object.keys(env)) if (k.startsWith('ARMS_')) delete env[k];
  // The stop script tests only START/FAILOVER (seed L668-669): a group started for RECOVER stops as START.
  const event = c.phase === 'stop' && c.event === 'RECOVER' ? 'START' : c.event;
  const set = (name: string, value: string | undefined) => {
    if (value === undefined) return;
    env[`ARMS_${name}`] = value;
    env[`KURA_${name}`] = value;
  };
  set('EVENT', event);
  set('SERVER', c.server);
  set('GROUPNAME', c.group);
  set('DISK', c.diskFailure ? 'FAILURE' : undefined);
  set('FACTOR', c.serverShutdown ? 'SERVERSHUTDOWN' : undefined);
  env['KURA_PHASE'] = c.phase;
  env['KURA_NODE'] = c.node;
  env['KURA_CLUSTER_SOCKET'] = c.socket;
  env['KURA_CLUSTER_DATA'] = c.dataDir;
  env['KURA_ETCD'] = c.etcd;
  return env;
}
