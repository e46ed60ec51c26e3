// Error catalogue: LUN conglomerates (KURA-E35xx): protocol endpoints as administrative LUs and
// bound VVOLs as their subsidiary LUs in the array (src/array/conglomerates), addressed by pathd.
// Each id is defined once here; docs/errors.md is generated from it (npm run docs:errors).
import { defineError } from '../errors.js';

export const CONG_NOT_A_PE = defineError(
  'KURA-E3500',
  'EINVAL',
  (p: { ld: number }) => `LD ${p.ld} is not a protocol endpoint (the administrative LU of a LUN conglomerate).`,
  'Bind VVOLs through an LD made as a protocol endpoint (kura pe list shows them).',
);
export const CONG_NO_FREE_SLU = defineError(
  'KURA-E3501',
  'ENOSPC',
  (p: { pe: number; max: number }) => `Protocol endpoint LD ${p.pe} has all ${p.max} subsidiary LU ids in use.`,
  'Unbind VVOLs that are no longer used, or bind through another protocol endpoint.',
);
export const CONG_NOT_BOUND = defineError(
  'KURA-E3502',
  'ENOENT',
  (p: { pe: number; vvol: number; host: string }) => `LD ${p.vvol} is not bound behind protocol endpoint LD ${p.pe} for host ${p.host}.`,
  'List the bindings of the protocol endpoint and unbind what is there.',
);
export const CONG_VVOL_IS_PE = defineError(
  'KURA-E3503',
  'EINVAL',
  (p: { ld: number }) => `LD ${p.ld} is a protocol endpoint; it cannot be bound as a subsidiary LU.`,
  'Bind a VVOL LD behind the protocol endpoint.',
);
export const CONG_SLU_RANGE = defineError(
  'KURA-E3504',
  'EINVAL',
  (p: { slu: string; max: number }) => `Subsidiary LU id ${p.slu} is out of range.`,
  (p) => `Give an id from 1 to ${p.max}; 0 is the protocol endpoint itself.`,
);
export const CONG_SLU_TAKEN = defineError(
  'KURA-E3505',
  'EEXIST',
  (p: { pe: number; slu: number; other: number; vvol: number }) =>
    `Subsidiary LU ${p.slu} of protocol endpoint LD ${p.pe} is LD ${p.other}; LD ${p.vvol} cannot take it.`,
  'Bind without naming an id (the lowest free one is taken), or unbind the other LD first.',
);
export const CONG_LD_NOT_FOUND = defineError('KURA-E3506', 'ENOENT', (p: { ld: number }) => `LD ${p.ld} does not exist.`, 'List LDs with kura ld list.');
export const CONG_HOST_NOT_FOUND = defineError(
  'KURA-E3507',
  'ENOENT',
  (p: { host: string }) => `Host ${p.host} does not exist.`,
  'Create the host entry (kura host create) before binding VVOLs for it.',
);
export const CONG_OTHER_SLU = defineError(
  'KURA-E3508',
  'EEXIST',
  (p: { pe: number; vvol: number; slu: number; want: number }) =>
    `LD ${p.vvol} is already subsidiary LU ${p.slu} of protocol endpoint LD ${p.pe}; it cannot also be ${p.want}.`,
  'Bind it without naming an id, or unbind it from every host first.',
);
