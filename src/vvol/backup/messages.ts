// The seed's informational lines of a backup (VVM E.2 "Type: INFO", L2700-L2776)
// and the displayed information of onlineBackup (VVM L2519-L2535). Errors and
// warnings are in the catalogue (src/catalogue/backup.ts); these lines are
// printed by the CLI and, where the seed logs them, raised as KURA-I37xx events.

export const START_CHECK = 'Start to check information of specified VM.';
export const START_BACKUP = 'Start to back up the specified VM.';

/** Event ids of the informational lines the seed also logs. */
export const I_BACKUP_DONE = 'KURA-I3700';
export const I_BACKUP_DONE_NO_CONSISTENCY = 'KURA-I3701';
export const I_RESTORE_STARTED = 'KURA-I3702';
export const I_RESTORE_DONE = 'KURA-I3703';
export const I_SETTINGS_CHANGED = 'KURA-I3704';
export const I_RELATION_WRITTEN = 'KURA-I3705';

export interface DiskLine {
  type: 'config' | 'data';
  ldName: string;
  disk: string;
  backupState: 'backuped' | 'no backup';
  backupLdName: string;
  arrayName: string;
}

/** "Success to online backup VM(dc/vm)[ without keeping consistency]." and the disks, as VVM L2710-L2776 print them. */
export function successLines(dc: string, vm: string, consistent: boolean, disks: DiskLine[]): string[] {
  const out = [`Success to online backup VM(${dc}/${vm})${consistent ? '' : ' without keeping consistency'}.`];
  const config = disks.filter((d) => d.type === 'config');
  const data = disks.filter((d) => d.type === 'data');
  if (config.length > 0) {
    out.push('config-vvol:');
    for (const d of config)
      out.push(`  LD Name: ${d.ldName}`, `  Backup State: ${d.backupState}`, `  Backup LD Name: ${d.backupLdName}`, `  Diskarray Name: ${d.arrayName}`);
  }
  if (data.length > 0) {
    out.push('data-vvol:');
    for (const d of data)
      out.push(
        `  LD Name: ${d.ldName}`,
        `  Disk File: ${d.disk}`,
        `  Backup State: ${d.backupState}`,
        `  Backup LD Name: ${d.backupLdName}`,
        `  Diskarray Name: ${d.arrayName}`,
      );
  }
  return out;
}
