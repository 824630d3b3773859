import { count, usd } from '../model/format.js';
import { CostChart } from './CostChart.js';
import { useStudio, useStudioState, useUi } from './hooks.js';

/** Spend over time per agent and per model, across every run in the database. */
export function CostsPage() {
  const studio = useStudio();
  const { costs } = useStudioState();
  const grouping = useUi((c) => c.costGrouping);
  const total = costs?.reduce((n, p) => n + p.costUsd, 0) ?? 0;
  const tokens = costs?.reduce((n, p) => n + p.tokens.total, 0) ?? 0;
  return (
    <div className="page">
      <section className="card">
        <div className="card-head">
          <h2>Cost</h2>
          <span className="muted">
            {costs ? `${costs.length} priced calls · ${count(tokens)} tokens · ${usd(total)}` : 'loading…'}
          </span>
          <div className="filters">
            <div className="segmented" role="group" aria-label="Group by">
              <button className={grouping === 'agent' ? 'on' : ''} onClick={() => studio.ui.trigger.setCostGrouping({ grouping: 'agent' })}>
                per agent
              </button>
              <button className={grouping === 'model' ? 'on' : ''} onClick={() => studio.ui.trigger.setCostGrouping({ grouping: 'model' })}>
                per model
              </button>
            </div>
            <button className="secondary" onClick={() => void studio.loadCosts()}>
              Refresh
            </button>
          </div>
        </div>
        {costs && costs.length === 0 && (
          <div className="empty">
            <p>
              <strong>No spend recorded yet.</strong> Every model call an agent makes is journaled with its tokens and cost; once runs call
              models, their cumulative spend shows here over time, per agent and per model.
            </p>
          </div>
        )}
        {costs && costs.length > 0 && <CostChart points={costs} grouping={grouping} />}
      </section>
    </div>
  );
}
