// REST routes of host entries, access control and the iSCSI target.
import type { ApiRoute } from './route.js';
import { ACCESS_STOP_NEEDS_FORCE } from '../catalogue/array.js';

export const HOSTS = {
  list: { method: 'GET', path: '/api/v1/hosts', tag: 'hosts', summary: 'List host entries with their initiators and LUNs' },
  create: {
    method: 'POST',
    path: '/api/v1/hosts',
    tag: 'hosts',
    summary: 'Create a host entry',
    status: 201,
    body: { name: { type: 'string', required: true, description: 'host name' }, initiators: { type: 'string[]', description: 'initiator IQNs' } },
  },
  delete: {
    method: 'DELETE',
    path: '/api/v1/hosts/{name}',
    tag: 'hosts',
    summary: 'Delete a host entry',
    status: 204,
  },
  addInitiator: {
    method: 'POST',
    path: '/api/v1/hosts/{name}/initiators',
    tag: 'hosts',
    summary: 'Add an initiator to a host',
    body: { iqn: { type: 'string', required: true, description: 'initiator IQN' } },
  },
  removeInitiator: {
    method: 'DELETE',
    path: '/api/v1/hosts/{name}/initiators/{iqn}',
    tag: 'hosts',
    summary: 'Remove an initiator from a host',
  },
  map: {
    method: 'POST',
    path: '/api/v1/hosts/{name}/luns',
    tag: 'hosts',
    summary: 'Map an LD into the host LUN space',
    body: { ld: { type: 'string', required: true, description: 'LD name or number' }, lun: { type: 'integer', description: 'LUN (default: lowest free)' } },
  },
  unmap: {
    method: 'DELETE',
    path: '/api/v1/hosts/{name}/luns/{lun}',
    tag: 'hosts',
    summary: 'Unmap a LUN from a host',
  },
  setChap: {
    method: 'POST',
    path: '/api/v1/hosts/{name}/chap',
    tag: 'hosts',
    summary: "Require one-way CHAP from the host's initiators (user name and secret, 12 to 255 characters)",
    body: {
      user: { type: 'string', required: true, description: 'CHAP user name (CHAP_N) the initiators send' },
      secret: { type: 'string', required: true, description: 'CHAP secret, 12 to 255 printable characters' },
    },
  },
  clearChap: {
    method: 'DELETE',
    path: '/api/v1/hosts/{name}/chap',
    tag: 'hosts',
    summary: "Stop requiring CHAP from the host's initiators",
  },
  setNbdPsk: {
    method: 'POST',
    path: '/api/v1/hosts/{name}/nbd-psk',
    tag: 'hosts',
    summary: "Give the host's NBD clients a TLS pre-shared key; their PSK identity is the host name (the key is never returned)",
    body: { key: { type: 'string', required: true, description: 'the key in hex, 16 to 256 bytes (psktool writes 32)' } },
  },
  clearNbdPsk: {
    method: 'DELETE',
    path: '/api/v1/hosts/{name}/nbd-psk',
    tag: 'hosts',
    summary: "Remove the host's NBD pre-shared key (new TLS connections as the host fail)",
  },
  access: {
    method: 'GET',
    path: '/api/v1/access',
    tag: 'hosts',
    summary: 'Access control: on (host entries decide which initiator sees which LD) or off (every initiator sees every LD)',
  },
  startAccess: {
    method: 'POST',
    path: '/api/v1/access/start',
    tag: 'hosts',
    summary: 'Start access control: initiators see only the LDs mapped to their host entry (none while no host entry exists)',
  },
  stopAccess: {
    method: 'POST',
    path: '/api/v1/access/stop',
    tag: 'hosts',
    summary: `Stop access control: every initiator then sees every LD; refused (${ACCESS_STOP_NEEDS_FORCE.id}) without force`,
    body: { force: { type: 'boolean', description: 'confirm that every initiator may see every LD' } },
  },
  target: { method: 'GET', path: '/api/v1/target', tag: 'hosts', summary: "The array's iSCSI target: name, portals, mutual CHAP user" },
  setTargetChap: {
    method: 'POST',
    path: '/api/v1/target/chap',
    tag: 'hosts',
    summary: 'Set the credentials the target answers initiators with (mutual CHAP)',
    body: {
      user: { type: 'string', required: true, description: 'CHAP user name the target sends' },
      secret: { type: 'string', required: true, description: 'CHAP secret, 12 to 255 printable characters' },
    },
  },
  clearTargetChap: {
    method: 'DELETE',
    path: '/api/v1/target/chap',
    tag: 'hosts',
    summary: 'Remove the mutual CHAP credentials',
  },
} satisfies Record<string, ApiRoute>;
