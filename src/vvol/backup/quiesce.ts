// The seam between the backup engine and the hypervisor: before the backup
// volumes are separated (the consistency point) the engine asks the
// hypervisor to quiesce the VM's guest, and to thaw it right after. The
// hypervisor runs the quiesce hook, a script the VM's owner provides (the role
// VMware Tools plays in the seed, VVM L2504-L2510); a VM without a hook is
// backed up "without keeping consistency" (VVM L2815-L2845).
//
// Implementations: ScriptQuiescer runs the hook itself (the manager uses it
// with the hook path a VVOL's metadata names, KURA_QuiesceHook); a hypervisor
// simulator (kura vsim) may provide its own GuestQuiescer and hand it to the
// engine (BackupEngine's `quiescer` option, or Manager.backup.setQuiescer).
import { spawn } from 'node:child_process';
import type { VmRef } from './vm.js';

export type QuiesceOutcome = 'quiesced' | 'no-hook';

export interface GuestQuiescer {
  /**
   * Quiesces the VM's guest (flushes and holds its writes). Resolves
   * 'no-hook' when the VM has no quiesce hook: the engine then backs up
   * without keeping consistency. Rejects when the hook failed: the backup
   * fails. The engine calls thaw() after every 'quiesced'.
   */
  quiesce(vm: VmRef): Promise<QuiesceOutcome>;
  thaw(vm: VmRef): Promise<void>;
}

/** No hypervisor to ask: every backup is without keeping consistency. */
export const NO_QUIESCE: GuestQuiescer = {
  quiesce: async () => 'no-hook',
  thaw: async () => undefined,
};

/** How long a hook may run before it counts as failed. */
export const HOOK_TIMEOUT_MS = 60_000;

/**
 * Runs the VM owner's script as `SCRIPT freeze` and `SCRIPT thaw`, with
 * KURA_VM, KURA_VM_ID and KURA_DATACENTER in its environment. Exit status 0
 * is success; anything else (or no exit within the timeout) fails the step
 * with the script's last stderr line.
 */
export class ScriptQuiescer implements GuestQuiescer {
  constructor(
    /** The hook of a VM, or undefined when it has none. */
    private readonly hookOf: (vm: VmRef) => string | undefined,
    private readonly timeoutMs = HOOK_TIMEOUT_MS,
  ) {}

  async quiesce(vm: VmRef): Promise<QuiesceOutcome> {
    const hook = this.hookOf(vm);
    if (!hook) return 'no-hook';
    await this.run(hook, 'freeze', vm);
    return 'quiesced';
  }

  async thaw(vm: VmRef): Promise<void> {
    const hook = this.hookOf(vm);
    if (hook) await this.run(hook, 'thaw', vm);
  }

  private run(script: string, step: 'freeze' | 'thaw', vm: VmRef): Promise<void> {
    return new Promise((resolve, reject) => {
      let err = '';
      const child = spawn(script, [step], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, KURA_VM: vm.name, KURA_VM_ID: vm.id, KURA_DATACENTER: vm.datacenter },
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${step} did not end within ${this.timeoutMs / 1000} s`));
      }, this.timeoutMs);
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (d: string) => (err = (err + d).slice(-2000)));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`${step}: ${e.message}`));
      });
      child.on('exit', (code, sig) => {
        clearTimeout(timer);
        if (code === 0) return resolve();
        const last = err.trim().split('\n').pop() ?? '';
        reject(new Error(`${step} exited with ${code ?? sig}${last ? `: ${last}` : ''}`));
      });
    });
  }
}
