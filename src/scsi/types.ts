// The contract between the iSCSI layer (src/iscsi), the SCSI command layer
// (src/scsi) and the array (src/array). The transport collects a command's whole
// Data-Out before executing it and sends the Data-In / status it gets back.
import type { BlockDevice } from '../block/device.js';
import type { AluaState } from './spec/alua.js';

/** An I_T nexus: who sends the command, through which target port. */
export interface ItNexus {
  /** SCSI initiator port name, e.g. "iqn.1994-05.com.redhat:host1,i,0x23d000000001". */
  initiatorPort: string;
  /** iSCSI initiator name (IQN) alone: used for access control. */
  initiatorName: string;
  /** Relative target port identifier (1-based), unique across the array's ports. */
  relativeTargetPortId: number;
  /** SCSI target port name, e.g. "iqn.2026-11.io.kura:array1,t,0x0001". */
  targetPort: string;
  /** Target port group (ALUA) the port belongs to: the controller number. */
  targetPortGroup: number;
}

export interface ScsiCommand {
  nexus: ItNexus;
  lun: number;
  cdb: Buffer;
  /** All Data-Out the initiator sent for this command (immediate, unsolicited and solicited). */
  dataOut?: Buffer;
  /** Expected Data Transfer Length from the transport (bytes the initiator allocated/sends). */
  expectedDataLength: number;
  /** Task attribute (SIMPLE, ORDERED, HEAD OF QUEUE, ACA) as in SAM. */
  taskAttribute?: number;
}

export interface ScsiResponse {
  /** SAM status: GOOD 0x00, CHECK CONDITION 0x02, CONDITION MET 0x04, BUSY 0x08, RESERVATION CONFLICT 0x18, TASK SET FULL 0x28, TASK ABORTED 0x40. */
  status: number;
  /** Fixed-format sense data when status is CHECK CONDITION. */
  sense?: Buffer;
  /** Data-In (may be longer than expectedDataLength: the transport truncates and reports the residual). */
  dataIn?: Buffer;
  /**
   * For commands that carry Data-Out: the bytes of Data-Out the CDB describes (the
   * SCSI transfer length of a write, or a parameter list length), set whatever the
   * status. The transport reports residual overflow (more than the Expected Data
   * Transfer Length) or underflow against it (RFC 7143 11.4.5.1).
   */
  dataOutLength?: number;
}

/** The ALUA states a Kura port group takes (no port is ever taken offline). */
export type PortGroupState = Exclude<AluaState, 'offline'>;

/** One target port group as REPORT TARGET PORT GROUPS shows it. */
export interface TargetPortGroupInfo {
  id: number;
  state: PortGroupState;
  relativeTargetPortIds: number[];
}

/** Persistent reservation state of one logical unit, saved when APTPL asks for it. */
export interface PrStore {
  load(luId: string): unknown | undefined;
  save(luId: string, state: unknown): void;
}

/** What the SCSI layer needs to know about a logical unit; provided by the array. */
export interface LogicalUnitSource {
  /** Stable identity: the LD's NAA designator (32 hex digits, NAA 6). */
  naa: string;
  serial: string;
  /** The data path (already wrapped with whatever layers the array adds). */
  device: BlockDevice;
  /** Product strings for INQUIRY. */
  vendor: string;
  product: string;
  revision: string;
  /** Target port groups with their current ALUA state for this LU. */
  portGroups(): TargetPortGroupInfo[];
  /** Thin provisioning: LBPME/LBPU/LBPWS are reported when true. */
  thin: boolean;
}
