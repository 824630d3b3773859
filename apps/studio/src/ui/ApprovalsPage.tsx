import { useEffect, useState } from 'react';
import type { ApprovalJson } from '@spine/server/protocol';
import { diffJson } from '../model/diffJson.js';
import { ago } from '../model/format.js';
import { readableText } from '../model/readableText.js';
import { useNow, useStudio, useStudioState } from './hooks.js';
import { Json } from './Json.js';
import { ConfidenceNote } from './ConfidenceNote.js';
import { FieldIssueList, type FieldIssue } from './FieldIssueList.js';

const NAME_KEY = 'spine.approver';

/** The approvals inbox: what each agent proposes and why, a deadline countdown, approve / edit / reject as a named person. */
export function ApprovalsPage() {
  const studio = useStudio();
  const { approvals, decided } = useStudioState();
  const [by, setBy] = useState(() => (typeof localStorage === 'undefined' ? '' : (localStorage.getItem(NAME_KEY) ?? '')));
  useEffect(() => {
    const timer = setInterval(() => void studio.loadApprovals().catch(() => {}), 5000);
    return () => clearInterval(timer);
  }, [studio]);
  const rememberName = (name: string) => {
    setBy(name);
    localStorage.setItem(NAME_KEY, name);
  };
  const list = approvals?.approvals ?? [];
  // Deadlines are counted on the server's clock.
  const skew = approvals ? approvals.serverTime - approvals.loadedAt : 0;
  return (
    <div className="page">
      <section className="card" data-testid="approvals">
        <div className="card-head">
          <h2>Approvals</h2>
          <label className="muted">
            deciding as{' '}
            <input data-testid="approver" value={by} placeholder="your name" onChange={(e) => rememberName(e.target.value)} />
          </label>
        </div>
        {!approvals && <p className="muted">Loading…</p>}
        {approvals && !list.length && (
          <div className="empty">
            <p>
              <strong>Nothing to approve.</strong> When a state carries a medium or high risk tier, the agent stops and waits here for a person
              to approve, reject or edit what it proposes, with a deadline counting down.
            </p>
          </div>
        )}
        {list.map((a) => (
          <ApprovalCard key={a.id} approval={a} by={by.trim()} skew={skew} />
        ))}
      </section>
      <DecidedApprovals decided={decided} />
    </div>
  );
}

const DECIDED: Record<string, string> = { approved: 'approved', rejected: 'rejected', expired: 'expired', cancelled: 'cancelled', refused: 'refused' };

/** Decided approvals stay visible: who decided, when, what they changed and why. */
function DecidedApprovals({ decided }: { decided: ApprovalJson[] | undefined }) {
  const now = useNow(5000);
  if (!decided?.length) return null;
  return (
    <section className="card" data-testid="approvals-history" style={{ marginTop: 16 }}>
      <div className="card-head">
        <h2>Decided</h2>
        <span className="muted">{decided.length} earlier decisions, newest first</span>
      </div>
      <table className="runs">
        <thead>
          <tr>
            <th>Decision</th>
            <th>Activity</th>
            <th>Run</th>
            <th>By</th>
            <th>When</th>
            <th>Changed</th>
            <th>Why</th>
          </tr>
        </thead>
        <tbody>
          {decided.map((a) => {
            const changes = a.editedInput === null ? [] : diffJson(a.proposal, a.editedInput);
            return (
              <tr key={a.id} data-testid="decided-approval" data-status={a.status}>
                <td>
                  <span className={`badge decision-${a.status}`}>{a.editedInput !== null ? 'approved, edited' : (DECIDED[a.status] ?? a.status)}</span>
                </td>
                <td className="mono">{a.src}</td>
                <td className="mono">
                  <a href={`#/runs/${encodeURIComponent(a.runId)}`}>{a.runId}</a>
                </td>
                <td>{a.decidedBy ?? '—'}</td>
                <td className="muted" title={a.decidedAt ? new Date(a.decidedAt).toLocaleString() : ''}>
                  {a.decidedAt ? ago(a.decidedAt, now) : '—'}
                </td>
                <td data-testid="decided-changes">
                  {changes.length
                    ? changes.map((c) => (
                        <div key={c.path} className="mono">
                          {c.path}: {c.kind === 'added' ? '' : `${JSON.stringify(c.before)} → `}
                          {c.kind === 'removed' ? '(removed)' : JSON.stringify(c.after)}
                        </div>
                      ))
                    : <span className="muted">as proposed</span>}
                </td>
                <td data-testid="decided-reason">{a.reason ?? <span className="muted">no reason given</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function ApprovalCard({ approval, by, skew }: { approval: ApprovalJson; by: string; skew: number }) {
  const studio = useStudio();
  const now = useNow(1000) + skew;
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(() => JSON.stringify(approval.proposal, null, 2));
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<{ message: string; issues: FieldIssue[] } | undefined>();
  const rationale = (approval.rationale ?? {}) as { reasoning?: unknown; state?: string; event?: string; lastJournal?: unknown };
  let editError: string | undefined;
  let edited: unknown;
  if (editing) {
    try {
      edited = JSON.parse(draft);
    } catch (error) {
      editError = (error as Error).message;
    }
  }
  const act = async (decision: 'approve' | 'reject') => {
    setBusy(true);
    try {
      const outcome =
        decision === 'approve'
          ? await studio.decide(approval.id, { decision, by, ...(editing ? { input: edited } : {}), ...(reason ? { reason } : {}) })
          : await studio.decide(approval.id, { decision, by, ...(reason ? { reason } : {}) });
      setRefusal(outcome.ok || !outcome.issues.length ? undefined : outcome);
    } finally {
      setBusy(false);
    }
  };
  return (
    <article className="card approval" data-testid="approval" style={{ marginTop: 12 }}>
      <div className="card-head">
        <strong>{approval.src}</strong>
        <span className={`badge ${approval.tier === 'high' ? 'error' : ''}`}>{approval.tier === 'high' ? 'high risk · run halted' : 'medium risk'}</span>
        {approval.escalated && <span className="badge error">escalated</span>}
        <a href={`#/runs/${encodeURIComponent(approval.runId)}`}>{approval.runId}</a>
        <span className="muted" data-testid="countdown">
          {countdown(approval, now)}
        </span>
      </div>
      <p className="muted">
        step {approval.seq} of {approval.actorId} ({approval.machine}) · {rationale.state ?? ''} · after {rationale.event ?? '?'}
      </p>
      <ConfidenceNote rationale={approval.rationale} />
      {rationale.reasoning !== undefined && rationale.reasoning !== null && (
        <div className="why" data-testid="why">
          <strong>Why: </strong>
          {readableText(rationale.reasoning).map((line, i) => (
            <div key={i}>{line}</div>
          ))}
        </div>
      )}
      <p>
        <strong>Proposes:</strong>
      </p>
      {editing ? (
        <>
          <p className="hint">Change only what should differ: fields you leave out keep the proposed value. The edit is checked against the activity's input schema before it is accepted.</p>
          <textarea
            data-testid="edit-proposal"
            rows={8}
            style={{ width: '100%', fontFamily: 'monospace' }}
            value={draft}
            aria-invalid={Boolean(editError || refusal)}
            onChange={(e) => {
              setDraft(e.target.value);
              setRefusal(undefined);
            }}
          />
          {editError && <p className="error">{editError}</p>}
          {refusal && (
            <div className="error" role="alert" data-testid="edit-error">
              Not accepted, correct it and approve again:
              <FieldIssueList issues={refusal.issues} />
            </div>
          )}
        </>
      ) : (
        <Json value={approval.proposal} max={12} />
      )}
      {rationale.lastJournal !== undefined && rationale.lastJournal !== null && (
        <details>
          <summary className="muted">last journal entry</summary>
          <Json value={rationale.lastJournal} max={12} />
        </details>
      )}
      <div className="card-head" style={{ marginTop: 8 }}>
        <input placeholder="reason (optional)" value={reason} onChange={(e) => setReason(e.target.value)} style={{ flex: 1 }} />
        <button className="secondary" onClick={() => setEditing(!editing)} disabled={busy}>
          {editing ? 'Cancel edit' : 'Edit'}
        </button>
        <button data-testid="approve" onClick={() => void act('approve')} disabled={busy || !by || Boolean(editError)} title={by ? '' : 'Enter your name first'}>
          {editing ? 'Approve edited' : 'Approve'}
        </button>
        <button data-testid="reject" className="danger" onClick={() => void act('reject')} disabled={busy || !by} title={by ? '' : 'Enter your name first'}>
          Reject
        </button>
      </div>
    </article>
  );
}

function countdown(approval: ApprovalJson, now: number): string {
  if (approval.escalated) return 'deadline passed: escalated, still open';
  if (approval.deadlineAt === null) return 'no deadline';
  const left = approval.deadlineAt - now;
  const then = approval.onDeadline === 'halt' ? 'then expires' : 'then escalates';
  if (left <= 0) return `deadline passed (${then})`;
  const s = Math.floor(left / 1000);
  const text = s >= 3600 ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s` : `${s}s`;
  return `${text} left, ${then}`;
}
