// The Prometheus text exposition format (version 0.0.4), written by hand:
// families with HELP and TYPE lines, samples with escaped label values. The
// format is small and stable, and our counters already exist as plain numbers
// read at scrape time, so a metrics library (prom-client: a registry of its
// own metric objects, label maps touched on every increment) would add a
// dependency and a second copy of every counter for nothing.

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type Labels = Record<string, string>;

/** Content type of the text format, as Prometheus asks for it. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A label value: backslash, double quote and newline escaped (nothing else needs it). */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(labels: Labels | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function valueText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class MetricsText {
  private readonly lines: string[] = [];
  private readonly declared = new Set<string>();

  /** Declares a family (once); its samples follow. */
  family(name: string, type: MetricType, help: string): this {
    if (this.declared.has(name)) return this;
    this.declared.add(name);
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels | undefined, value: number): this {
    this.lines.push(`${name}${labelText(labels)} ${valueText(value)}`);
    return this;
  }

  /**
   * A histogram from per-bucket counts (not cumulative) and their upper
   * bounds (the last +Inf): the cumulative _bucket series, _sum and _count.
   */
  histogram(name: string, labels: Labels, bounds: readonly number[], counts: readonly number[], sum: number): this {
    let acc = 0;
    for (let i = 0; i < bounds.length; i++) {
      acc += counts[i] ?? 0;
      this.sample(`${name}_bucket`, { ...labels, le: valueText(bounds[i]!) }, acc);
    }
    this.sample(`${name}_sum`, labels, sum);
    this.sample(`${name}_count`, labels, acc);
    return this;
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }
}
