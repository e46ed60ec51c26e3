// Progress of a long operation: a bar redrawn in place on a terminal, plain
// lines (only when the figure changes) when the output is a file or a pipe.

export interface ProgressSink {
  update(percent: number, remainingSeconds: number | null, label: string): void;
  done(): void;
}

const BAR = 30;

function remaining(s: number | null): string {
  if (s === null) return 'estimating';
  if (s < 60) return `${s} s left`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s left` : `${Math.floor(m / 60)} h ${m % 60} min left`;
}

export function progressSink(out: NodeJS.WriteStream = process.stdout): ProgressSink {
  let last = '';
  let drawn = false;
  return {
    update(percent, secs, label) {
      const p = Math.max(0, Math.min(100, Math.floor(percent)));
      if (out.isTTY) {
        const fill = Math.round((p * BAR) / 100);
        out.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(BAR - fill)}] ${String(p).padStart(3)}%  ${remaining(secs)}\x1b[K`);
        drawn = true;
        return;
      }
      const line = `${label} ${p}% ${remaining(secs)}`;
      if (line !== last) out.write(line + '\n');
      last = line;
    },
    done() {
      if (drawn) out.write('\n');
    },
  };
}
