// Error catalogue: VM backup and restore, the VM-VVOL relation and the provider
// settings (issue 12; KURA-E3700..E3899, KURA-W3700..W3799). Where the seed (VVM
// Appendix E.2, Appendix B, chapter 2.3 and F.3) has a message, the sentence is
// the seed's, word for word, with its lines beside it; its "Measures" is the
// action. Informational lines (VVM E.2 "Type: INFO") are events KURA-I37xx,
// not ids of the catalogue (src/vvol/backup/messages.ts).
import { defineError, defineEvent } from '../errors.js';

type Vm = { dc: string; vm: string };

// ---- backup (VVM E.2, L2620-L2800) ----

// VVM L2623-L2628, L2123 (WebClient)
export const BACKUP_VM_NOT_FOUND = defineError(
  'KURA-E3700',
  'ENOENT',
  (p: Vm) => `Specified VM(${p.dc}/${p.vm}) does not exist.`,
  'Check the specifications, or check whether the connection destination of vCenter Server that was registered to VASA Provider is correct.',
);
// VVM L2630-L2640, L2141
export const BACKUP_POLICY_NOT_SET = defineError(
  'KURA-E3701',
  'EINVAL',
  (p: Vm) => `The backup policy of VM(${p.dc}/${p.vm}) is not set.`,
  'Set a backup policy to the virtual machine to acquire the newest configuration information, and then retry backup. If the command failed, check the specified options. To check whether the newest configuration information was applied, check the backup volume configuration by using the VM-VVOLRelation.bat command (kura vm relation).',
);
// VVM L2641-L2644, L2225
export const BACKUP_UNEXPECTED = defineError(
  'KURA-E3702',
  'EIO',
  'Unexpected error occurred.',
  (p: { why: string }) => `Collect the fault information (kura logs, kura events). Cause: ${p.why}`,
);
// VVM L2645-L2650, L2178
export const BACKUP_COMMAND_FAILED = defineError(
  'KURA-E3703',
  'EIO',
  (p: { command: string; message: string }) => `Failed to execute command(${p.command}).\n${p.message}`,
  'Check the output message by referring to “Messages Handbook” (docs/errors.md), and then take the necessary action.',
);
// VVM L2653-L2659, L2166
export const BACKUP_VM_INFO_FAILED = defineError(
  'KURA-E3704',
  'EIO',
  (p: Vm) => `Failed to get information of specified VM(${p.dc}/${p.vm}).`,
  'Check the disk array status and that monitoring state of iSM. If the cause of the error could not be identified, collect the fault information.',
);
// VVM L2660-L2666, L2133
export const RELATION_VM_NOT_FOUND = defineError(
  'KURA-E3705',
  'ENOENT',
  (p: Vm) => `Failed to get information of specified VM(${p.dc}/${p.vm}) from VM-VVOL relation file.`,
  'Collect the fault information; write the relation file at once with kura provider relation write and retry.',
);
// VVM L2777-L2783
export const BACKUP_ALREADY_RUNNING = defineError(
  'KURA-E3711',
  'EBUSY',
  (p: Vm) => `Failed to back up for VM(${p.dc}/${p.vm}). Backup is already running.`,
  'Wait until backing up the virtual machine is complete, and retry the operation.',
);
// VVM L2784-L2790
export const BACKUP_WHILE_RESTORING = defineError(
  'KURA-E3712',
  'EBUSY',
  (p: Vm) => `Failed to back up for VM(${p.dc}/${p.vm}).Restoring is still running.`,
  'Wait until restoring the virtual machine is complete, and retry the operation.',
);
// VVM L2791-L2797, L3028, L2273 (WebClient)
export const BACKUP_INTERRUPTED = defineError(
  'KURA-E3713',
  'EIO',
  (p: Vm) => `Failed to back up VM(${p.dc}/${p.vm}).Backup is interrupted.`,
  'Retry the operation.',
);
export const BACKUP_NOTHING_TO_CANCEL = defineError(
  'KURA-E3714',
  'ENOENT',
  (p: Vm) => `No backup of VM(${p.dc}/${p.vm}) is running or waiting; there is nothing to cancel.`,
  'See the backup state with kura backup show VM.',
);
export const BACKUP_JOB_NOT_FOUND = defineError(
  'KURA-E3715',
  'ENOENT',
  (p: { id: string }) => `There is no backup or restore job ${p.id}.`,
  'Jobs are kept while the server runs; see the VM state with kura backup show VM.',
);
export const BACKUP_REQUEST_INVALID = defineError(
  'KURA-E3716',
  'EINVAL',
  (p: { why: string }) => `The backup request is invalid: ${p.why}.`,
  'Give the VM name (and its datacenter) as kura backup run VM DATACENTER shows.',
);
export const BACKUP_VM_AMBIGUOUS = defineError(
  'KURA-E3717',
  'EINVAL',
  (p: { vm: string; dcs: string }) => `VM ${p.vm} exists in datacenters ${p.dcs}; say which one.`,
  'Give the datacenter: kura backup show VM DATACENTER.',
);
export const QUIESCE_FAILED = defineError(
  'KURA-E3718',
  'EIO',
  (p: Vm & { why: string }) => `The guest-quiesce hook of VM(${p.dc}/${p.vm}) failed: ${p.why}.`,
  "Fix the VM owner's quiesce script (it is run with freeze, then thaw) or remove it to back up without keeping consistency.",
);

// ---- restore (VVM F.3.3, L3031-L3062) ----

// VVM L3061-L3062 (F.3.3)
export const RESTORE_VM_HAS_SNAPSHOTS = defineError(
  'KURA-E3730',
  'EBUSY',
  'If the target VM has a snapshot, the virtual device cannot be restored.',
  'Delete all snapshots in the target VM and restore the virtual device.',
);
export const RESTORE_NO_BACKUP = defineError(
  'KURA-E3731',
  'ENOENT',
  (p: Vm & { from: string; disk: string }) => `VM(${p.dc}/${p.vm}) has no ${p.from} backup of disk ${p.disk} to restore from.`,
  'See the backups with kura backup show VM; restore from the last backup, or back the VM up first.',
);
export const RESTORE_FROM_INVALID = defineError(
  'KURA-E3732',
  'EINVAL',
  (p: { from: string }) => `Restore from ${p.from} is not known: it is last or previous.`,
  'Give --from last or --from previous.',
);
export const RESTORE_DISK_UNKNOWN = defineError(
  'KURA-E3733',
  'ENOENT',
  (p: Vm & { disk: string; disks: string }) => `VM(${p.dc}/${p.vm}) has no backed-up disk ${p.disk}; its disks are ${p.disks}.`,
  'Name a disk kura backup show VM lists (the config VVOL is restored with --config only).',
);
export const RESTORE_WHILE_BACKUP = defineError(
  'KURA-E3734',
  'EBUSY',
  (p: Vm) => `VM(${p.dc}/${p.vm}) is being backed up or restored; a restore cannot start now.`,
  'Wait until the backup or restore is complete (kura backup show VM), or cancel the backup, and retry.',
);
export const RESTORE_INTERRUPTED = defineEvent(
  'KURA-W3700',
  (p: Vm) => `The restore of VM(${p.dc}/${p.vm}) was cut short by a restart of the provider; the disks may hold partly restored data.`,
  'Restore the VM again (kura backup restore VM --from last|previous).',
);
export const BACKUP_INTERRUPTED_BY_RESTART = defineEvent(
  'KURA-W3701',
  (p: Vm) =>
    `The backup of VM(${p.dc}/${p.vm}) was cut short by a restart of the provider; the backup volume it was writing is marked invalid, the other generation is kept.`,
  'Run the backup again (kura backup run VM DATACENTER).',
);

// ---- provider settings (VVM 2.2.1, 2.3.1, L376-L536) ----

// VVM L518-L521
export const SETTINGS_INTERVAL_INVALID = defineError(
  'KURA-E3800',
  'EINVAL',
  'ERROR:Invalid time value. Please set up an integer between 5 and 1440.',
  'Specify the correct value and execute the command again.',
);
// VVM L380-L384, L467-L472
export const SETTINGS_ACCOUNT_INVALID = defineError(
  'KURA-E3801',
  'EINVAL',
  (p: { what: string; why: string }) => `The ${p.what} of the provider account is invalid: ${p.why}.`,
  'Use at most 255 characters: letters, digits and the symbols ! " # $ % & \' ( ) * + , - . / : ; < = > ? @ [ \\ ] ^ _ ` { | } ~ (no spaces).',
);
// VVM L389-L390
export const SETTINGS_TOO_MANY_ARRAYS = defineError(
  'KURA-E3802',
  'ENOSPC',
  'Up to four disk arrays can be registered.',
  'Delete a registered disk array first (kura provider set --delete-array IP).',
);
// VVM L387, L390, L524
export const SETTINGS_IP_INVALID = defineError(
  'KURA-E3803',
  'EINVAL',
  (p: { ip: string }) => `${p.ip} is not an IPv4 address; only IPv4 can be used for an IP address.`,
  'Give an IPv4 address such as 192.168.1.100.',
);
// VVM L536-L537
export const SETTINGS_VCENTER_INVALID = defineError(
  'KURA-E3804',
  'EINVAL',
  (p: { what: string; why: string }) => `The vCenter Server ${p.what} is invalid: ${p.why}.`,
  'The following symbols cannot be used in a user name and password: " & \' , ; < = > ^ |; the port is 1 to 65535.',
);
export const SETTINGS_ARRAY_NOT_REGISTERED = defineError(
  'KURA-E3805',
  'ENOENT',
  (p: { ip: string }) => `Disk array ${p.ip} is not registered.`,
  'See the registered disk arrays with kura provider show.',
);
export const SETTINGS_ARRAY_REGISTERED = defineError(
  'KURA-E3806',
  'EEXIST',
  (p: { ip: string }) => `Disk array ${p.ip} is registered already.`,
  'See the registered disk arrays with kura provider show.',
);
export const SETTINGS_REQUEST_INVALID = defineError(
  'KURA-E3807',
  'EINVAL',
  (p: { why: string }) => `The provider settings request is invalid: ${p.why}.`,
  'See kura provider set --help.',
);

// ---- relation files (VVM App. C, L2281-L2455) ----

export const RELATION_WRITE_FAILED = defineEvent(
  'KURA-W3710',
  (p: { why: string }) => `The VM-VVOL relation file could not be written: ${p.why}.`,
  'Check the space and permissions of the data directory; the provider tries again at the next interval.',
);
