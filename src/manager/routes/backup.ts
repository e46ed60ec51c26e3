// VM backup and restore, the VM-VVOL relation and the provider settings over
// REST (/api/v1/vasa/backups, /vms, /provider): each handler is one call into
// the backup service (src/vvol/backup). Events go to the manager's event
// store from the engine itself.
import { BACKUPS, PROVIDER } from '../../api/backup.js';
import type { BackupService } from '../../vvol/backup/service.js';
import type { SettingsChange } from '../../vvol/backup/settings.js';
import type { Route } from '../router.js';
import { bind } from './bind.js';

const dcOf = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function backupRoutes(svc: BackupService): Route[] {
  const { engine } = svc;
  const dc = (vm: string, v: unknown): string => engine.resolveDatacenter(vm, dcOf(v));
  return [
    ...bind(BACKUPS, {
      list: () => engine.list(),
      show: ({ params, query }) => engine.show(params['vm']!, dc(params['vm']!, query['datacenter'])),
      run: ({ params, body }) => engine.startBackup(params['vm']!, dc(params['vm']!, body['datacenter'])),
      cancel: ({ params, body }) => engine.cancel(params['vm']!, dc(params['vm']!, body['datacenter'])),
      restore: ({ params, body }) =>
        engine.startRestore(params['vm']!, dc(params['vm']!, body['datacenter']), {
          from: body['from'] as string,
          disks: body['disks'] as string[] | undefined,
          config: body['config'] === true,
        }),
      job: ({ params }) => engine.getJob(params['id']!),
      relation: ({ params, query }) => svc.relationOf(params['vm']!, dc(params['vm']!, query['datacenter'])),
      script: ({ params, query }) => svc.backupScript(params['vm']!, dc(params['vm']!, query['datacenter'])),
    }),
    ...bind(PROVIDER, {
      show: () => svc.settings.get(),
      set: ({ body }) => svc.settings.set(body as SettingsChange),
      writeRelation: () => svc.writeRelation(),
    }),
  ];
}
