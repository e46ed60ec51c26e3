// Error catalogue: the hypervisor simulator `kura vsim` (KURA-E36xx, KURA-W36xx):
// simulated ESXi hosts backed by pathd, VMs made of VVOLs, and what vCenter
// would refuse (a powered-on VM deleted, a name used twice, ...).
// Each id is defined once here; docs/errors.md is generated from it (npm run docs:errors).
import { defineError, defineEvent } from '../errors.js';

// ---- hosts and pathd ----

export const VSIM_PATHD_UNREACHABLE = defineError(
  'KURA-E3600',
  'EIO',
  (p: { url: string; reason: string }) => `The pathd control API at ${p.url} did not answer: ${p.reason}.`,
  'Start kura pathd for this host and give its control URL (the "control=" of its ready line) with --pathd.',
);
export const VSIM_PATHD_ANSWER = defineError(
  'KURA-E3601',
  'EIO',
  (p: { url: string; status: number; why: string }) => `The pathd control API at ${p.url} answered ${p.status}: ${p.why}.`,
  'Check that the URL is the control API of a kura pathd (its ready line), not its NBD address or the array API.',
);
export const VSIM_NO_HOST = defineError(
  'KURA-E3602',
  'ENOENT',
  (p: { host: string }) => `The simulator knows no host ${p.host}.`,
  'Add it with kura vsim host add HOST --pathd URL (kura vsim host list shows the known ones).',
);
export const VSIM_LUN_TAKEN = defineError(
  'KURA-E3603',
  'EBUSY',
  (p: { pe: string; lun: number; host: string; other: string }) =>
    `Protocol endpoint ${p.pe} is at LUN ${p.lun} on the other hosts, but host ${p.host} uses LUN ${p.lun} for LD ${p.other}.`,
  'A PE is shared by every host at the same LUN (VVM L295-L298): unmap that LUN from the host (kura host unmap) and add the host again.',
);
export const VSIM_EXPORT_TIMEOUT = defineError(
  'KURA-E3604',
  'EIO',
  (p: { vvol: string; host: string; url: string; seconds: number }) =>
    `pathd of host ${p.host} (${p.url}) did not export VVOL ${p.vvol} within ${p.seconds} s of its bind.`,
  "Check pathd's log (kura path events) and that the host's PE paths are up (kura path show).",
);
export const VSIM_HOST_RUNS_VMS = defineError(
  'KURA-E3605',
  'EBUSY',
  (p: { host: string; vms: string }) => `Host ${p.host} still runs ${p.vms}.`,
  'Power those VMs off first, or give --force to remove the host anyway (its bindings are dropped with its host entry).',
);
export const VSIM_STATE_UNREADABLE = defineError(
  'KURA-E3606',
  'EIO',
  (p: { file: string; reason: string }) => `The simulator's host list ${p.file} cannot be used: ${p.reason}.`,
  'Fix or remove the file (it holds only the hosts added with kura vsim host add), or give another with --state.',
);

// ---- virtual machines ----

export const VSIM_NO_VM = defineError(
  'KURA-E3610',
  'ENOENT',
  (p: { vm: string }) => `No virtual machine ${p.vm} has VVOLs on this array.`,
  'List the VMs with kura vsim vm list.',
);
export const VSIM_VM_EXISTS = defineError(
  'KURA-E3611',
  'EEXIST',
  (p: { vm: string; datacenter: string }) => `A virtual machine ${p.vm} already exists (in datacenter ${p.datacenter}).`,
  'Choose another name: the simulator keeps VM names unique on an array, because the provider counts snapshots per VM name.',
);
export const VSIM_VM_POWERED_ON = defineError(
  'KURA-E3612',
  'EBUSY',
  (p: { vm: string; host: string; what: string }) => `Virtual machine ${p.vm} is powered on (host ${p.host}); ${p.what} needs it powered off.`,
  'Power it off first: kura vsim vm power-off VM.',
);
export const VSIM_VM_POWERED_OFF = defineError(
  'KURA-E3613',
  'EINVAL',
  (p: { vm: string }) => `Virtual machine ${p.vm} is already powered off.`,
  'Nothing to do.',
);
export const VSIM_VM_ALREADY_ON = defineError(
  'KURA-E3614',
  'EBUSY',
  (p: { vm: string; host: string }) => `Virtual machine ${p.vm} is already powered on (host ${p.host}).`,
  'Power it off first to start it on another host.',
);
export const VSIM_NO_SNAPSHOT = defineError(
  'KURA-E3615',
  'ENOENT',
  (p: { vm: string; snapshot: string }) => `Virtual machine ${p.vm} has no snapshot ${p.snapshot}.`,
  'kura vsim vm show VM lists its snapshots.',
);
export const VSIM_SNAPSHOT_EXISTS = defineError(
  'KURA-E3616',
  'EEXIST',
  (p: { vm: string; snapshot: string }) => `Virtual machine ${p.vm} already has a snapshot ${p.snapshot}.`,
  'Give the snapshot another name.',
);
export const VSIM_VM_HAS_LINKED_CLONES = defineError(
  'KURA-E3617',
  'EBUSY',
  (p: { vm: string; clones: string }) => `Virtual machine ${p.vm} is the source of linked clone(s) ${p.clones}.`,
  'Delete the linked clones first: they share its data.',
);
export const VSIM_VM_HAS_SNAPSHOTS = defineError(
  'KURA-E3618',
  'EBUSY',
  (p: { vm: string; n: number; what: string }) => `Virtual machine ${p.vm} has ${p.n} snapshot(s); ${p.what} moves only VMs without snapshots.`,
  'Delete its snapshots first (kura vsim vm snapshot-delete VM --name S).',
);
export const VSIM_BAD_ARG = defineError(
  'KURA-E3619',
  'EINVAL',
  (p: { what: string; why: string }) => `${p.what} is not valid: ${p.why}.`,
  'Correct the value and run the command again.',
);
export const VSIM_PROVIDER_FAILED = defineError(
  'KURA-E3620',
  'EIO',
  (p: { what: string; vvol: string; id: string; message: string }) => `${p.what} failed for VVOL ${p.vvol}: ${p.id} ${p.message}`,
  'See the provider error above; the simulator undid the steps it had made where it could (kura vsim vm show VM).',
);
export const VSIM_TASK_FAILED = defineError(
  'KURA-E3621',
  'EIO',
  (p: { what: string; task: string; state: string; reason: string }) => `${p.what} (task ${p.task}) ended ${p.state}: ${p.reason}.`,
  'kura task show TASK gives the details; the VM keeps what it had before the operation.',
);
export const VSIM_DEMO_FAILED = defineError(
  'KURA-E3622',
  'EIO',
  (p: { step: string; reason: string }) => `The demo stopped at "${p.step}": ${p.reason}.`,
  'Read the steps printed above; kura vsim demo removes what it created unless --keep was given.',
);
export const VSIM_DATA_MISMATCH = defineError(
  'KURA-E3623',
  'EIO',
  (p: { what: string }) => `The bytes read back through pathd differ from those written: ${p.what}.`,
  "This is a data integrity failure: keep the array's data directory and pathd's log for analysis.",
);

// ---- the guest-quiesce hook (what VMware Tools tells vCenter, here a script path) ----

export const VSIM_HOOK_NOT_ABSOLUTE = defineError(
  'KURA-E3624',
  'EINVAL',
  (p: { hook: string }) => `The quiesce hook "${p.hook}" is not an absolute path.`,
  'Give the full path of the script (it is run by kura serve, whose working directory is not yours), or none to remove the hook.',
);
export const VSIM_HOOK_MISSING = defineError(
  'KURA-E3625',
  'ENOENT',
  (p: { hook: string; why: string }) => `The quiesce hook ${p.hook} cannot be used: ${p.why}.`,
  'Give the path of an existing script file (kura serve runs it as SCRIPT freeze and SCRIPT thaw).',
);
export const VSIM_HOOK_NOT_EXECUTABLE = defineError(
  'KURA-E3626',
  'EPERM',
  (p: { hook: string }) => `The quiesce hook ${p.hook} is not executable.`,
  'Make it executable (chmod +x FILE) and give it a #! line; kura serve runs it directly.',
);

// ---- warnings ----

export const VSIM_PARTIAL_UNDO = defineEvent(
  'KURA-W3600',
  (p: { what: string; left: string }) => `${p.what} failed and could not be undone entirely; left behind: ${p.left}.`,
  'Delete what is left with kura vvol delete ID (kura vvol list --vm VM shows it).',
);
