import type { CostPoint } from '@spine/server/protocol';
import { useMemo, useState } from 'react';
import { count, usd } from '../model/format.js';
import { CostChart } from './CostChart.js';
import { useStudio, useStudioState, useUi } from './hooks.js';

const WINDOWS = { '15m': 15 * 60_000, '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, all: Infinity } as const;
type Window = keyof typeof WINDOWS;

/** Spend summed by run, agent and model (most expensive first). */
export function costRows(points: readonly CostPoint[]): { runId: string; agent: string; model: string; calls: number; input: number; output: number; total: number; costUsd: number }[] {
  const rows = new Map<string, { runId: string; agent: string; model: string; calls: number; input: number; output: number; total: number; costUsd: number }>();
  for (const p of points) {
    const key = JSON.stringify([p.runId, p.machine, p.model]);
    const row = rows.get(key) ?? { runId: p.runId, agent: p.machine, model: p.model, calls: 0, input: 0, output: 0, total: 0, costUsd: 0 };
    row.calls += 1;
    row.input += p.tokens.input;
    row.output += p.tokens.output;
    row.total += p.tokens.total;
    row.costUsd += p.costUsd;
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => b.costUsd - a.costUsd || a.runId.localeCompare(b.runId));
}

/** Spend over time per agent and per model, across every run in the database. */
export function CostsPage() {
  const studio = useStudio();
  const { costs: all } = useStudioState();
  const grouping = useUi((c) => c.costGrouping);
  const [window, setWindow] = useState<Window>('all');
  const [now] = useState(() => Date.now());
  const costs = useMemo(() => (all && window !== 'all' ? all.filter((p) => p.at >= now - WINDOWS[window]) : all), [all, window, now]);
  const rows = useMemo(() => costRows(costs ?? []), [costs]);
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
            <select aria-label="Time window" value={window} onChange={(e) => setWindow(e.target.value as Window)} data-testid="cost-window">
              <option value="15m">last 15 minutes</option>
              <option value="1h">last hour</option>
              <option value="24h">last 24 hours</option>
              <option value="7d">last 7 days</option>
              <option value="all">all time</option>
            </select>
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
      {rows.length > 0 && (
        <section className="card" style={{ marginTop: 16 }}>
          <div className="card-head">
            <h2>By run, agent and model</h2>
            <span className="muted">{rows.length} rows, most expensive first</span>
          </div>
          <table className="runs" data-testid="cost-table">
            <thead>
              <tr>
                <th>Run</th>
                <th>Agent</th>
                <th>Model</th>
                <th className="num">Calls</th>
                <th className="num">Tokens in</th>
                <th className="num">Tokens out</th>
                <th className="num">Cost</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.runId} ${r.agent} ${r.model}`} data-testid="cost-row">
                  <td className="mono">
                    <a href={`#/runs/${encodeURIComponent(r.runId)}`}>{r.runId}</a>
                  </td>
                  <td>{r.agent}</td>
                  <td className="mono">{r.model}</td>
                  <td className="num">{r.calls}</td>
                  <td className="num">{count(r.input)}</td>
                  <td className="num">{count(r.output)}</td>
                  <td className="num">{usd(r.costUsd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}
