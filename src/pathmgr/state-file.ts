// What pathd keeps across restarts (the seed's rule that path priorities
// survive a reboot): per logical unit its policy, the reservation key
// registered through pathd, and per path (portal/target/LUN) its priority and
// the state the administrator set. Written atomically (temp file + rename).
import fs from 'node:fs';

export interface SavedPath {
  priority: number;
  admin?: 'standby' | 'unavailable';
}

export interface SavedDevice {
  policy?: string;
  prKey?: string;
  paths: Record<string, SavedPath>;
}

export interface SavedState {
  devices: Record<string, SavedDevice>;
}

export function loadState(file: string | undefined): SavedState {
  if (!file) return { devices: {} };
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as SavedState;
    return v && typeof v === 'object' && v.devices && typeof v.devices === 'object' ? v : { devices: {} };
  } catch {
    // Missing or unreadable: start from discovery order (the caller logs nothing; a first start has no file).
    return { devices: {} };
  }
}

export function saveState(file: string | undefined, s: SavedState): void {
  if (!file) return;
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(s, null, 2));
  fs.renameSync(tmp, file);
}
