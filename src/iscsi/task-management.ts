// Task Management Function Request and Response (RFC 7143 11.5, 11.6) on one
// target connection: the tasks a function names are aborted here (no response
// is sent for them) and the function answers once they have finished; the
// SCSI layer then does its part (task sets, unit attentions, resets). TARGET
// COLD RESET drops every connection of the target after the response is out.
import type { Connection } from './connection.js';
import * as P from './pdu.js';
import type { Pdu } from './pdu.js';
import type { Task } from './task.js';

export async function onTaskManagement(c: Connection, pdu: Pdu): Promise<void> {
  const s = c.session!;
  const bhs = pdu.bhs;
  const fn = bhs[1]! & 0x7f;
  const itt = P.ittOf(bhs);
  const lun = P.decodeLun(bhs);
  const rtt = bhs.readUInt32BE(20);
  const refCmdSN = bhs.readUInt32BE(32);
  const nexus = s.nexus;
  let response: number;
  const abortWhere = async (pred: (t: Task) => boolean): Promise<void> => {
    const victims = [...s.tasks.values()].filter(pred);
    for (const t of victims) c.abortTask(t);
    await Promise.all(victims.map((t) => t.finished));
  };
  try {
    switch (fn) {
      case P.TMF_ABORT_TASK: {
        const t = s.tasks.get(rtt);
        if (t && t.lun === lun && t.state !== 'done') {
          c.abortTask(t);
          await t.finished;
          response = P.TMF_RSP_COMPLETE;
        } else if (!t && s.skipCmdSN(refCmdSN)) {
          // Not arrived yet: it is consumed without running when it does.
          response = P.TMF_RSP_COMPLETE;
        } else response = P.TMF_RSP_TASK_DOES_NOT_EXIST;
        break;
      }
      case P.TMF_ABORT_TASK_SET:
      case P.TMF_CLEAR_TASK_SET:
        await abortWhere((t) => t.lun === lun);
        response = c.host.scsi.taskManagement(nexus, fn === P.TMF_ABORT_TASK_SET ? 'abort-task-set' : 'clear-task-set', lun);
        break;
      case P.TMF_LOGICAL_UNIT_RESET:
        await abortWhere((t) => t.lun === lun);
        response = c.host.scsi.taskManagement(nexus, 'lun-reset', lun);
        break;
      case P.TMF_TARGET_WARM_RESET:
      case P.TMF_TARGET_COLD_RESET:
        await abortWhere(() => true);
        response = c.host.scsi.taskManagement(nexus, fn === P.TMF_TARGET_WARM_RESET ? 'target-warm-reset' : 'target-cold-reset');
        break;
      case P.TMF_TASK_REASSIGN:
        // Task reassignment needs ErrorRecoveryLevel 2.
        response = P.TMF_RSP_REASSIGNMENT_NOT_SUPPORTED;
        break;
      case P.TMF_CLEAR_ACA:
      default:
        response = P.TMF_RSP_NOT_SUPPORTED;
        break;
    }
  } catch (e) {
    c.host.log(`iscsi: task management function ${fn} failed: ${(e as Error).message}`);
    response = P.TMF_RSP_REJECTED;
  }
  if (c.state === 'closed') return;
  c.send(P.taskMgmtResponse({ itt, response, seq: c.seq(true) }));
  if (fn === P.TMF_TARGET_COLD_RESET && response === P.TMF_RSP_COMPLETE) c.host.coldReset(c);
}
