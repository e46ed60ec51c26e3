// The SCSI command layer's public face: what the iSCSI transport and the array use.
export { LogicalUnit } from './logical-unit.js';
export {
  ScsiTarget,
  TMF_FUNCTION_COMPLETE,
  TMF_FUNCTION_NOT_SUPPORTED,
  TMF_FUNCTION_REJECTED,
  TMF_LUN_DOES_NOT_EXIST,
  TMF_TASK_DOES_NOT_EXIST,
} from './target.js';
export type { LunResolver, TaskManagementFunction } from './target.js';
export { nexusKey } from './unit-attention.js';
export * from './sense.js';
export type * from './types.js';
