// Storage policies (SPBM rules "based on data services", VVM 3.9): the
// capabilities the provider offers under com.nec.jp.ism.vasaprovider, a
// policy's validation, and compliance of a container (datastore) and of a VVOL
// against a policy. Pure functions over values; the provider applies them.
import { checkName } from '../names.js';
import { BACKUP_POOL_PREFIX, MAX_BACKUP_GENERATIONS, MAX_IOPS, MIN_BACKUP_GENERATIONS, MIN_IOPS } from './limits.js';
import { BACKUP_MISMATCH_TEXT, POLICY_NAME_ERROR, badCapability, lowerAboveUpper, ruleText } from './messages.js';
import type { PortPool } from './port.js';

/** The namespace of the provider's rules (VVM L1087-L1088, L1123). */
export const CAPABILITY_NAMESPACE = 'com.nec.jp.ism.vasaprovider';

/** PD types a policy may ask for: the seed's (NLSAS, SAS, SSD) and Kura's file-backed PDs. */
export const PD_TYPES = ['SSD', 'SAS', 'NLSAS', 'FILE'] as const;
/** RAID types of Kura pools. */
export const RAID_TYPES = ['RAID0', 'RAID1', 'RAID10'] as const;

export interface BackupRule {
  enabled: boolean;
  /** Delete the backup volumes with the VM (VVM L1101-L1103). */
  autoDelete: boolean;
  /** 1 or 2 (VVM L1135-L1138). */
  generations: number;
}

export interface IoRule {
  /** IOPS; 0 when that limit is not enabled. */
  upper: number;
  lower: number;
}

export interface StoragePolicy {
  name: string;
  pdType: string | null;
  raid: string | null;
  /** Specify Encrypt PD (VVM L1096-L1097): true asks for encrypting PDs. */
  encryption: boolean;
  backup: BackupRule | null;
  io: IoRule | null;
  created: string;
}

export interface PolicyRequest {
  name: string;
  pdType?: string;
  raid?: string;
  encryption?: boolean;
  backup?: { generations?: number; autoDelete?: boolean };
  iopsUpper?: number;
  iopsLower?: number;
}

/** What the provider offers, as rule names show in the policy editor (VVM L1089-L1114, L1455-L1460). */
export function capabilityMetadata(): Array<{ namespace: string; category: string; rules: Array<{ name: string; values: string }> }> {
  return [
    { namespace: CAPABILITY_NAMESPACE, category: 'PD Type', rules: [{ name: 'Physical Disk Type', values: PD_TYPES.join(' | ') }] },
    { namespace: CAPABILITY_NAMESPACE, category: 'RAID', rules: [{ name: 'RAID', values: RAID_TYPES.join(' | ') }] },
    { namespace: CAPABILITY_NAMESPACE, category: 'Security', rules: [{ name: 'Specify Encrypt PD', values: 'Yes | No' }] },
    {
      namespace: CAPABILITY_NAMESPACE,
      category: 'Backup',
      rules: [
        { name: 'Enable Backup', values: 'Yes | No' },
        { name: 'Backup Volume Automatic Deleted', values: 'Yes | No' },
        { name: 'The Number of Backup Generations', values: `${MIN_BACKUP_GENERATIONS} | ${MAX_BACKUP_GENERATIONS}` },
      ],
    },
    {
      namespace: CAPABILITY_NAMESPACE,
      category: 'I/O Control',
      rules: [
        { name: 'Enable I/O Upper Control', values: 'Yes | No' },
        { name: 'Enable I/O Lower Control', values: 'Yes | No' },
        { name: 'I/O Upper Control Limit (IOPS)', values: `${MIN_IOPS}-${MAX_IOPS}` },
        { name: 'I/O Lower Control Limit (IOPS)', values: `${MIN_IOPS}-${MAX_IOPS}` },
      ],
    },
  ];
}

function iops(what: string, v: unknown): number {
  if (v === undefined || v === 0) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < MIN_IOPS || v > MAX_IOPS) {
    throw badCapability(`the ${what} ${JSON.stringify(v)?.slice(0, 20)} is not a decimal value within ${MIN_IOPS} to ${MAX_IOPS} (VVM L1204, L1207)`);
  }
  return v;
}

/** Checks a request and makes the policy. */
export function makePolicy(req: PolicyRequest, now: string): StoragePolicy {
  const name = checkName('Storage policy', req.name, POLICY_NAME_ERROR);
  let pdType: string | null = null;
  if (req.pdType !== undefined) {
    pdType = PD_TYPES.find((t) => t.toLowerCase() === String(req.pdType).toLowerCase()) ?? null;
    if (!pdType) throw badCapability(`PD type ${JSON.stringify(req.pdType).slice(0, 20)} is not one of ${PD_TYPES.join(', ')}`);
  }
  let raid: string | null = null;
  if (req.raid !== undefined) {
    raid = RAID_TYPES.find((t) => t.toLowerCase() === String(req.raid).toLowerCase()) ?? null;
    if (!raid) throw badCapability(`RAID type ${JSON.stringify(req.raid).slice(0, 20)} is not one of ${RAID_TYPES.join(', ')}`);
  }
  let backup: BackupRule | null = null;
  if (req.backup !== undefined) {
    const g = req.backup.generations ?? MIN_BACKUP_GENERATIONS;
    if (!Number.isInteger(g) || g < MIN_BACKUP_GENERATIONS || g > MAX_BACKUP_GENERATIONS) {
      throw badCapability(
        `the number of backup generations ${JSON.stringify(g).slice(0, 20)} is not ${MIN_BACKUP_GENERATIONS} or ${MAX_BACKUP_GENERATIONS} (VVM L1136-L1138)`,
      );
    }
    backup = { enabled: true, autoDelete: req.backup.autoDelete === true, generations: g };
  }
  const upper = iops('I/O upper limit', req.iopsUpper);
  const lower = iops('I/O lower limit', req.iopsLower);
  // VVM L1209: the lower limit must be less than the upper one.
  if (upper > 0 && lower > 0 && lower >= upper) throw lowerAboveUpper();
  const io = upper > 0 || lower > 0 ? { upper, lower } : null;
  return { name, pdType, raid, encryption: req.encryption === true, backup, io, created: now };
}

/** Backup generations a policy asks for (0: no backup). */
export function generationsOf(p: StoragePolicy | null): number {
  return p?.backup?.enabled ? p.backup.generations : 0;
}

export function isBackupPool(pool: PortPool): boolean {
  // VVM L1161-L1164: the name begins with vvolbackup, in lower case.
  return pool.container && pool.name.startsWith(BACKUP_POOL_PREFIX);
}

/** The capability profile of a container: what a datastore offers. */
export interface ContainerProfile {
  pdType: string;
  raid: string;
  encryption: boolean;
  ioControl: boolean;
  backup: boolean;
}

export function containerProfile(pool: PortPool, pools: PortPool[]): ContainerProfile {
  return { pdType: pool.pdType, raid: pool.raid, encryption: pool.encrypted, ioControl: pool.qosMode === 'on', backup: pools.some(isBackupPool) };
}

export interface RuleResult {
  rule: string;
  compliant: boolean;
  /** Why not, in the seed's words where it has them. */
  message?: string;
}

const yesNo = (b: boolean): string => (b ? 'Yes' : 'No');

/**
 * The rules of `policy` a datastore with `profile` does not satisfy, as L2058
 * texts; only the rules the datastore itself decides (PD type, RAID,
 * encryption). I/O control and backup have messages of their own.
 */
export function datastoreMismatches(policy: StoragePolicy, profile: ContainerProfile): Array<{ rule: string; datastore: string; policy: string }> {
  const out: Array<{ rule: string; datastore: string; policy: string }> = [];
  if (policy.pdType !== null && policy.pdType !== profile.pdType) out.push({ rule: 'Physical Disk Type', datastore: profile.pdType, policy: policy.pdType });
  if (policy.raid !== null && policy.raid !== profile.raid) out.push({ rule: 'RAID', datastore: profile.raid, policy: policy.raid });
  if (policy.encryption && !profile.encryption)
    out.push({ rule: 'Specify Encrypt PD', datastore: yesNo(profile.encryption), policy: yesNo(policy.encryption) });
  return out;
}

/** Compliance of a container (datastore) against a policy: one result per rule the policy sets. */
export function containerCompliance(policy: StoragePolicy, profile: ContainerProfile): RuleResult[] {
  const mismatched = new Map(datastoreMismatches(policy, profile).map((m) => [m.rule, m]));
  const out: RuleResult[] = [];
  const rule = (name: string, set: boolean): void => {
    if (!set) return;
    const m = mismatched.get(name);
    out.push(m ? { rule: name, compliant: false, message: ruleText(m.rule, m.datastore, m.policy) } : { rule: name, compliant: true });
  };
  rule('Physical Disk Type', policy.pdType !== null);
  rule('RAID', policy.raid !== null);
  rule('Specify Encrypt PD', policy.encryption);
  if (policy.io) {
    out.push(
      profile.ioControl
        ? { rule: 'I/O Control', compliant: true }
        : {
            rule: 'I/O Control',
            compliant: false,
            message: 'Failed to apply the storage policy because I/O control mode is disabled in the pool. Enable I/O control mode.',
          },
    );
  }
  if (policy.backup?.enabled) {
    out.push(
      profile.backup
        ? { rule: 'Backup', compliant: true }
        : { rule: 'Backup', compliant: false, message: 'Failed to apply the storage policy because no pool for backup exists.' },
    );
  }
  return out;
}

/**
 * Compliance of a VVOL: the container's rules, plus the I/O limits its LD has
 * and the backup volumes it has against what the policy asks.
 */
export function vvolCompliance(
  policy: StoragePolicy,
  profile: ContainerProfile,
  actual: { io: IoRule; backups: number; backup: 'applies' | 'linked-clone' | 'not-applicable' },
): RuleResult[] {
  const out = containerCompliance(policy, profile).filter((r) => r.rule !== 'I/O Control' && r.rule !== 'Backup');
  if (policy.io) {
    const same = actual.io.upper === policy.io.upper && actual.io.lower === policy.io.lower;
    out.push(
      same
        ? { rule: 'I/O Control', compliant: true }
        : {
            rule: 'I/O Control',
            compliant: false,
            message: `The LD's I/O limits are upper ${actual.io.upper}, lower ${actual.io.lower} IOPS while the policy asks for upper ${policy.io.upper}, lower ${policy.io.lower}.`,
          },
    );
  }
  if (policy.backup?.enabled && actual.backup !== 'not-applicable') {
    if (actual.backup === 'linked-clone') out.push({ rule: 'Backup', compliant: false, message: 'Backup can not be done for linked clones.' });
    else if (actual.backups !== policy.backup.generations) out.push({ rule: 'Backup', compliant: false, message: BACKUP_MISMATCH_TEXT });
    else out.push({ rule: 'Backup', compliant: true });
  }
  return out;
}
