import { useEffect, useState } from 'react';
import type { ApprovalJson } from '@spine/server/protocol';
import { useNow, useStudio, useStudioState } from './hooks.js';
import { Json } from './Json.js';
import { ConfidenceNote } from './ConfidenceNote.js';

const NAME_KEY = 'spine.approver';

/** The approvals inbox: what each agent proposes and why, a deadline countdown, approve / edit / reject as a named person. */
export function ApprovalsPage() {
  const studio = useStudio();
  const { approvals } = useStudioState();
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
    </div>
  );
}

function ApprovalCard({ approval, by, skew }: { approval: ApprovalJson; by: string; skew: number }) {
  const studio = useStudio();
  const now = useNow(1000) + skew;
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(() => JSON.stringify(approval.proposal, null, 2));
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
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
      if (decision === 'approve') await studio.decide(approval.id, { decision, by, ...(editing ? { input: edited } : {}), ...(reason ? { reason } : {}) });
      else await studio.decide(approval.id, { decision, by, ...(reason ? { reason } : {}) });
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
        <p>
          <strong>Why: </strong>
          {typeof rationale.reasoning === 'string' ? rationale.reasoning : JSON.stringify(rationale.reasoning)}
        </p>
      )}
      <p>
        <strong>Proposes:</strong>
      </p>
      {editing ? (
        <>
          <textarea data-testid="edit-proposal" rows={8} style={{ width: '100%', fontFamily: 'monospace' }} value={draft} onChange={(e) => setDraft(e.target.value)} />
          {editError && <p className="error">{editError}</p>}
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
