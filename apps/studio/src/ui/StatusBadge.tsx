const LABELS: Record<string, string> = { active: 'active', done: 'done', error: 'failed', stopped: 'stopped' };

/** A run or actor status as a coloured badge. */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{LABELS[status] ?? status}</span>;
}
