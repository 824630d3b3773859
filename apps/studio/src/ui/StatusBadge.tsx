import type { WaitingJson } from '@spine/server/protocol';
import { ago } from '../model/format.js';

const LABELS: Record<string, string> = { active: 'active', done: 'done', error: 'failed', stopped: 'stopped' };

/** A run or actor status as a coloured badge (the store's `error` reads `failed` everywhere). */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{LABELS[status] ?? status}</span>;
}

/** What a waiting run waits for, in words: `a person to approve publish (medium risk)`. */
export function waitingText(waiting: WaitingJson): string {
  return `a person to approve ${waiting.src} (${waiting.tier} risk${waiting.tier === 'high' ? ', run halted' : ''})`;
}

/** When the decision is due, in words. */
export function deadlineText(waiting: WaitingJson, now: number): string {
  if (waiting.escalated) return 'deadline passed: escalated, still open';
  if (waiting.deadlineAt === null) return 'no deadline';
  const left = waiting.deadlineAt - now;
  const then = waiting.onDeadline === 'halt' ? 'then expires' : 'then escalates';
  if (left <= 0) return `deadline passed (${then})`;
  const s = Math.floor(left / 1000);
  const text = s >= 3600 ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s` : `${s}s`;
  return `${text} left, ${then}`;
}

/** The badge of a run that waits for a person, with whom, since when and until when in its title. */
export function WaitingBadge({ waiting, now }: { waiting: WaitingJson[]; now: number }) {
  const first = waiting[0];
  if (!first) return null;
  const title = waiting.map((w) => `Waiting for ${waitingText(w)} since ${ago(w.requestedAt, now)}; ${deadlineText(w, now)}`).join('\n');
  return (
    <span className={`badge status-waiting ${first.escalated ? 'escalated' : ''}`} data-testid="waiting-badge" title={title}>
      waiting for approval{waiting.length > 1 ? ` ×${waiting.length}` : ''}
    </span>
  );
}
