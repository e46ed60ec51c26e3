// Host entries, access control and the iSCSI target over REST.
import type { ArrayAgent } from '../../array/agent.js';
import { HOSTS } from '../../api/hosts.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';
import type { Changed } from './bind.js';
import { ref, num } from './params.js';

/** `deleted` runs after a host entry is deleted (the VVOL provider drops the binds the host held). */
export function hostRoutes(
  agent: Pick<ArrayAgent, 'hosts' | 'target'>,
  changed: Changed,
  deleted: (host: string) => Promise<unknown> = async () => undefined,
): Route[] {
  return bind(HOSTS, {
    list: () => agent.hosts.listHosts(),
    create: async ({ body }) => {
      const h = await agent.hosts.createHost(body['name'] as string, (body['initiators'] as string[] | undefined) ?? []);
      changed('KURA-I4030', `host/${h.name}`, `Host ${h.name} created.`);
      return h;
    },
    delete: async ({ params }) => {
      await agent.hosts.deleteHost(params['name']!);
      changed('KURA-I4031', `host/${params['name']}`, `Host ${params['name']} deleted.`);
      await deleted(params['name']!);
    },
    addInitiator: async ({ params, body }) => {
      const h = await agent.hosts.addInitiator(params['name']!, body['iqn'] as string);
      changed('KURA-I4032', `host/${h.name}`, `Initiator ${body['iqn']} added to host ${h.name}.`);
      return h;
    },
    removeInitiator: async ({ params }) => {
      const h = await agent.hosts.removeInitiator(params['name']!, params['iqn']!);
      changed('KURA-I4033', `host/${h.name}`, `Initiator ${params['iqn']} removed from host ${h.name}.`);
      return h;
    },
    map: async ({ params, body }) => {
      const h = await agent.hosts.mapLun(params['name']!, ref(body['ld'] as string), body['lun'] as number | undefined);
      changed('KURA-I4034', `host/${h.name}`, `LD ${body['ld']} mapped to host ${h.name}.`);
      return h;
    },
    unmap: async ({ params }) => {
      const h = await agent.hosts.unmapLun(params['name']!, num(params['lun']!, 'LUN'));
      changed('KURA-I4035', `host/${h.name}`, `LUN ${params['lun']} unmapped from host ${h.name}.`);
      return h;
    },
    setChap: async ({ params, body }) => {
      const h = await agent.hosts.setHostChap(params['name']!, body['user'] as string, body['secret'] as string);
      changed('KURA-I4036', `host/${h.name}`, `Host ${h.name} now logs in with CHAP user ${h.chap?.user}.`);
      return h;
    },
    clearChap: async ({ params }) => {
      const h = await agent.hosts.clearHostChap(params['name']!);
      changed('KURA-I4037', `host/${h.name}`, `Host ${h.name} no longer uses CHAP.`);
      return h;
    },
    setNbdPsk: async ({ params, body }) => {
      const h = await agent.hosts.setHostNbdPsk(params['name']!, body['key'] as string);
      changed('KURA-I6120', `host/${h.name}`, `Host ${h.name} now identifies its NBD clients with a TLS pre-shared key (identity ${h.name}).`);
      return h;
    },
    clearNbdPsk: async ({ params }) => {
      const h = await agent.hosts.clearHostNbdPsk(params['name']!);
      changed('KURA-I6121', `host/${h.name}`, `Host ${h.name} no longer has an NBD pre-shared key.`);
      return h;
    },
    access: () => agent.hosts.accessControl(),
    startAccess: () => agent.hosts.setAccessControl(true),
    stopAccess: ({ body }) => agent.hosts.setAccessControl(false, body['force'] === true),
    target: () => agent.target.targetInfo(),
    setTargetChap: async ({ body }) => {
      const t = await agent.target.setTargetChap(body['user'] as string, body['secret'] as string);
      changed('KURA-I4038', 'target', `Mutual CHAP set for target ${t.name} (user ${t.mutualChap?.user}).`);
      return t;
    },
    clearTargetChap: async () => {
      const t = await agent.target.clearTargetChap();
      changed('KURA-I4039', 'target', `Mutual CHAP removed from target ${t.name}.`);
      return t;
    },
  });
}
