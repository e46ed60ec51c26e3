// A small SVG line chart (no chart library: the first load stays small). Its
// text alternative says the latest, highest and mean values.
export interface Point {
  t: number;
  v: number;
}

const W = 360;
const H = 120;
const PAD = 4;

export function LineChart({ title, points }: { title: string; points: Point[] }) {
  const ok = points.filter((p) => Number.isFinite(p.t) && Number.isFinite(p.v));
  const max = Math.max(0, ...ok.map((p) => p.v));
  const t0 = ok[0]?.t ?? 0;
  const t1 = ok[ok.length - 1]?.t ?? 1;
  const x = (t: number) => PAD + ((t - t0) / Math.max(1, t1 - t0)) * (W - 2 * PAD);
  const y = (v: number) => H - PAD - (max > 0 ? (v / max) * (H - 2 * PAD) : 0);
  const path = ok.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  const last = ok[ok.length - 1]?.v;
  const mean = ok.length ? ok.reduce((a, p) => a + p.v, 0) / ok.length : 0;
  const summary = ok.length ? `latest ${fmt(last!)}, highest ${fmt(max)}, mean ${fmt(mean)}` : 'no samples';
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={`${title}: ${summary}`}>
        <line x1={PAD} y1={H - PAD} x2={W - PAD} y2={H - PAD} class="axis" />
        {ok.length > 1 && <path d={path} class="series" />}
      </svg>
      <div class="muted">
        {summary}
        {ok.length > 1 && ` · ${new Date(t0).toLocaleTimeString()} – ${new Date(t1).toLocaleTimeString()}`}
      </div>
    </figure>
  );
}

function fmt(v: number): string {
  if (Math.abs(v) >= 1e9) return `${(v / 1e9).toFixed(2)} G`;
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return String(Math.round(v * 100) / 100);
}
