// Small building blocks the pages share: page header with refresh and update
// time, error and notice boxes, capacity meters, forms with labelled fields and
// an action button that shows what the API answered. Everything is rendered
// as text (no markup is ever built from a value).
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from './api.js';

export function PageHeader(props: { title: string; updated?: Date; onRefresh?: () => void; children?: ComponentChildren }) {
  return (
    <header class="page-header">
      <h1 tabIndex={-1}>{props.title}</h1>
      <div class="page-tools">
        {props.children}
        {props.updated && <span class="muted">Last update {props.updated.toLocaleTimeString()}</span>}
        {props.onRefresh && (
          <button type="button" onClick={props.onRefresh} aria-label={`Refresh ${props.title}`}>
            ↻ Refresh
          </button>
        )}
      </div>
    </header>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error as Error;
  return (
    <div class="error" role="alert">
      {e instanceof ApiError && e.id ? <strong>{e.id}: </strong> : null}
      {e.message}
      {e instanceof ApiError && e.action ? <div class="muted">{e.action}</div> : null}
    </div>
  );
}

export function Loading() {
  return <p class="muted">Loading…</p>;
}

/** A capacity bar: the threshold is the meter's "high" mark, so over it the bar changes colour. */
export function CapacityMeter(props: { used: number; capacity: number; threshold: number; label: string }) {
  const pct = props.capacity > 0 ? (props.used / props.capacity) * 100 : 0;
  return (
    <span class="meter">
      <meter min={0} max={100} low={Math.min(props.threshold, 100) * 0.8} high={props.threshold} optimum={0} value={pct} aria-label={props.label}>
        {pct.toFixed(1)}%
      </meter>
      <span class="muted">
        {pct.toFixed(1)}% (threshold {props.threshold}%)
      </span>
    </span>
  );
}

export function Field(props: { id: string; label: string; children: ComponentChildren; hint?: string }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && <small class="muted">{props.hint}</small>}
    </div>
  );
}

/**
 * A form whose submit runs an API call; it shows the error the API answered
 * (id, sentence, action) or a success line, and stays usable while it runs.
 */
export function ActionForm(props: {
  label: string;
  submit: string;
  onSubmit: (form: FormData) => Promise<string | void>;
  children: ComponentChildren;
  id?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  return (
    <form
      class="action-form"
      aria-label={props.label}
      id={props.id}
      onSubmit={(ev) => {
        ev.preventDefault();
        const form = ev.currentTarget as HTMLFormElement;
        setBusy(true);
        setError(undefined);
        setDone(undefined);
        props.onSubmit(new FormData(form)).then(
          (msg) => {
            setBusy(false);
            setDone(msg ?? 'Done.');
            form.reset();
          },
          (e: unknown) => {
            setBusy(false);
            setError(e);
          },
        );
      }}
    >
      <fieldset disabled={busy}>
        <legend>{props.label}</legend>
        {props.children}
        <button type="submit">{props.submit}</button>
      </fieldset>
      <ErrorBox error={error} />
      {done && (
        <p class="ok" role="status">
          {done}
        </p>
      )}
    </form>
  );
}

/** A button that runs an API call, asks first when told to, and shows the error if it fails. */
export function ActionButton(props: { label: string; run: () => Promise<unknown>; confirm?: string; disabledReason?: string; describedBy?: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  return (
    <span class="action">
      <button
        type="button"
        disabled={busy || props.disabledReason !== undefined}
        title={props.disabledReason}
        aria-describedby={props.describedBy}
        onClick={() => {
          if (props.confirm && !window.confirm(props.confirm)) return;
          setBusy(true);
          setError(undefined);
          props.run().then(
            () => setBusy(false),
            (e: unknown) => {
              setBusy(false);
              setError(e);
            },
          );
        }}
      >
        {props.label}
      </button>
      <ErrorBox error={error} />
    </span>
  );
}

export function str(form: FormData, name: string): string | undefined {
  const v = form.get(name);
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

export function int(form: FormData, name: string): number | undefined {
  const v = str(form, name);
  return v === undefined ? undefined : Number(v);
}

export function SeverityBadge({ severity }: { severity: string }) {
  return <span class={`badge sev-${severity}`}>{severity}</span>;
}

export function StateBadge({ state }: { state: string }) {
  const good = ['online', 'up', 'ready', 'active', 'in-use', 'reporting', 'normal', 'rpl/sync', 'sep/end', 'rst/sync'].includes(state);
  const bad = ['down', 'offline', 'failed', 'fault', 'degraded', 'stale'].includes(state);
  return <span class={`badge ${good ? 'good' : bad ? 'bad' : 'neutral'}`}>{state}</span>;
}
