import { OUTCOME_LABELS, type RunOutcome } from '@batchlight/api/outcome';
import type { ReactNode } from 'react';

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status}</span>;
}

/** What a run came to: `completed` only when no call failed (see runOutcome). */
export function OutcomeBadge({ outcome }: { outcome: RunOutcome }) {
  return (
    <span className={`badge status-${outcome}`} data-testid="run-outcome" data-outcome={outcome}>
      {OUTCOME_LABELS[outcome]}
    </span>
  );
}

export function AttributionBadge({
  attribution,
  requested,
  reported,
}: {
  attribution: string | null;
  requested?: string | null;
  reported?: string | null;
}) {
  if (!attribution) return <span className="muted">—</span>;
  const title = requested ? `sent ${requested}, provider reported ${reported ?? 'nothing'}` : undefined;
  return (
    <span className={`badge attr-${attribution}`} title={title}>
      {attribution === 'mismatch' ? `mismatch: ${reported ?? '?'}` : attribution}
    </span>
  );
}

export function ProgressBar({
  completed,
  failed,
  total,
  inFlight = 0,
}: {
  completed: number;
  failed: number;
  total: number;
  inFlight?: number;
}) {
  const pct = (n: number) => `${total ? (n / total) * 100 : 0}%`;
  return (
    <div className="progress" role="progressbar" aria-valuenow={completed + failed} aria-valuemax={total}>
      <div className="ok" style={{ width: pct(completed) }} />
      <div className="fail" style={{ width: pct(failed) }} />
      <div className="flight" style={{ width: pct(inFlight) }} />
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function ErrorBox({ error }: { error: string | null }) {
  return error ? (
    <div className="error-box" role="alert">
      {error}
    </div>
  ) : null;
}

/**
 * A labelled form field. One control: a `<label>` around it. Several (`group`, e.g. checkboxes
 * with labels of their own): a `<fieldset>`, so a click on its heading or blank space toggles nothing.
 */
export function Field({
  label,
  error,
  children,
  hint,
  group = false,
}: {
  label: string;
  error?: string;
  children: ReactNode;
  hint?: string;
  group?: boolean;
}) {
  const className = `field${error ? ' has-error' : ''}`;
  const after = (
    <>
      {hint && !error ? <span className="hint">{hint}</span> : null}
      {error ? <span className="field-error">{error}</span> : null}
    </>
  );
  return group ? (
    <fieldset className={className}>
      <legend className="label">{label}</legend>
      {children}
      {after}
    </fieldset>
  ) : (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is the child passed in
    <label className={className}>
      <span className="label">{label}</span>
      {children}
      {after}
    </label>
  );
}

export function Stat({ label, value, tone }: { label: string; value: ReactNode; tone?: 'ok' | 'bad' | 'warn' }) {
  return (
    <div className={`stat ${tone ?? ''}`}>
      <div className="stat-value">{value}</div>
      <div className="stat-label">{label}</div>
    </div>
  );
}
