import { useStudioState } from './hooks.js';

/** The approvals inbox; a placeholder until human-in-the-loop approvals land. */
export function ApprovalsPage() {
  const { approvals } = useStudioState();
  return (
    <div className="page">
      <section className="card" data-testid="approvals">
        <div className="card-head">
          <h2>Approvals</h2>
        </div>
        <div className="empty">
          <p>
            <strong>Nothing to approve.</strong> When a state carries a medium or high risk tier, the agent stops and waits here for a person
            to approve, reject or edit what it proposes, with a deadline counting down.
          </p>
          <p className="muted">{approvals?.message ?? 'Checking the server…'}</p>
        </div>
      </section>
    </div>
  );
}
