// The guest-quiesce hook of a simulated VM. On vSphere the guest's VMware
// Tools quiesce the file systems when the backup asks vCenter to; here the VM
// owner names a script, and the simulator passes it on to the provider the way
// a hypervisor passes guest-tools information: in the VM's VVOL metadata
// (KEY.quiesceHook). The backup engine of kura serve runs it as
// `SCRIPT freeze` and `SCRIPT thaw` (src/vvol/backup/quiesce.ts), so the path
// must name an executable file on the manager's machine; the simulator checks
// it here, where the user typed it, so a wrong path is refused at once rather
// than failing the first backup.
import fs from 'node:fs';
import path from 'node:path';
import { VSIM_HOOK_MISSING, VSIM_HOOK_NOT_ABSOLUTE, VSIM_HOOK_NOT_EXECUTABLE } from '../catalogue/vsim.js';

/** What `--quiesce-hook` takes to remove a VM's hook. */
export const NO_HOOK = 'none';

/** The hook path if it can be run; throws KURA-E3624, E3625 or E3626 otherwise. */
export function checkQuiesceHook(hook: string): string {
  if (!path.isAbsolute(hook)) throw VSIM_HOOK_NOT_ABSOLUTE({ hook });
  let st: fs.Stats;
  try {
    st = fs.statSync(hook);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw VSIM_HOOK_MISSING({ hook, why: code === 'ENOENT' ? 'no such file' : (e as Error).message });
  }
  if (!st.isFile()) throw VSIM_HOOK_MISSING({ hook, why: 'it is not a regular file' });
  // Root passes access(X_OK) only when some execute bit is set; others need theirs.
  try {
    fs.accessSync(hook, fs.constants.X_OK);
  } catch {
    throw VSIM_HOOK_NOT_EXECUTABLE({ hook });
  }
  if ((st.mode & 0o111) === 0) throw VSIM_HOOK_NOT_EXECUTABLE({ hook });
  return hook;
}
