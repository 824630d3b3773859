import { useEffect, useState } from 'react';
import { useStudio } from './hooks.js';

// The Evals page: every suite `spine eval` ran against this database, its sessions (results per
// machine version, which checks held, failing cases linked to their runs) and the online scores
// of production runs over time per version. Reads GET /api/evals (served by `spine serve`).

interface Check {
  metric: string;
  value: number | undefined;
  check: string;
  expected: string;
  held: boolean;
}
interface Session {
  id: string;
  mode: 'offline' | 'online';
  startedAt: number;
  finishedAt: number | null;
  versions: Record<string, string>;
  passed: boolean | null;
  metrics: Record<string, number>;
  checks: Check[];
  failing: { caseId: string; repeat: number; runId: string; reasons: string[] }[];
}
interface Suite {
  name: string;
  sessions: Session[];
  online: { runId: string; machine: string; version: string; scoredAt: number; scores: Record<string, number> }[];
}

const fmt = (n: number | undefined) => (n === undefined ? '–' : Number.isInteger(n) ? String(n) : n.toFixed(3));

/** Suites, results per version, failing cases linked to their runs, quality over time. */
export function EvalsPage() {
  const studio = useStudio();
  const [suites, setSuites] = useState<Suite[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const load = () => {
    fetch(`${studio.options.origin ?? ''}/api/evals`)
      .then(async (res) => {
        const body = (await res.json()) as { suites?: Suite[]; error?: { message: string } };
        if (!res.ok) throw new Error(body.error?.message ?? `${res.status}`);
        setSuites(body.suites ?? []);
      })
      .catch((e: Error) => setError(e.message));
  };
  useEffect(load, []);
  return (
    <div className="page" data-testid="evals-page">
      <section className="card">
        <div className="card-head">
          <h2>Evals</h2>
          <span className="muted">{suites ? `${suites.length} suites` : error ? `could not load: ${error}` : 'loading…'}</span>
          <button className="secondary" onClick={load}>
            Refresh
          </button>
        </div>
        {suites && suites.length === 0 && (
          <div className="empty">
            <p>
              <strong>No evals yet.</strong> Run <code>spine eval &lt;suite&gt; --db &lt;this database&gt;</code>: every case becomes a run here, and its
              scores, thresholds and failing cases show on this page.
            </p>
          </div>
        )}
      </section>
      {suites?.map((suite) => <SuiteCard key={suite.name} suite={suite} />)}
    </div>
  );
}

function SuiteCard({ suite }: { suite: Suite }) {
  const offline = suite.sessions.filter((s) => s.mode === 'offline');
  const metricNames = [...new Set(offline.flatMap((s) => Object.keys(s.metrics)))].filter((m) => !m.includes('.'));
  const versions = [...new Set(suite.online.map((o) => o.version))];
  const scorers = [...new Set(suite.online.flatMap((o) => Object.keys(o.scores)))];
  return (
    <section className="card" style={{ marginTop: 12 }} data-testid="eval-suite">
      <div className="card-head">
        <h3>{suite.name}</h3>
        <span className="muted">
          {offline.length} runs of the suite · {suite.online.length} production runs scored online
        </span>
      </div>
      {offline.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>session</th>
              <th>version</th>
              <th>gate</th>
              {metricNames.map((m) => (
                <th key={m}>{m}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {offline.map((s) => (
              <tr key={s.id}>
                <td>
                  {s.id}
                  <div className="muted small">{new Date(s.startedAt).toLocaleString()}</div>
                </td>
                <td className="mono small">{Object.entries(s.versions).map(([k, v]) => `${k}@${v.slice(0, 8)}`).join(' ')}</td>
                <td>
                  {s.passed === null ? (
                    <span className="badge">unfinished</span>
                  ) : (
                    <span className={`badge ${s.passed ? '' : 'error'}`} title={s.checks.map((c) => `${c.metric} ${c.expected}: ${c.held ? 'held' : 'broken'}`).join('\n')}>
                      {s.passed ? 'passed' : `failed: ${s.checks.filter((c) => !c.held).map((c) => c.metric).join(', ')}`}
                    </span>
                  )}
                </td>
                {metricNames.map((m) => (
                  <td key={m}>{fmt(s.metrics[m])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {offline[0] && offline[0].failing.length > 0 && (
        <>
          <h4>Failing cases of the latest session</h4>
          <ul>
            {offline[0].failing.map((f) => (
              <li key={f.runId}>
                <a href={`#/runs/${encodeURIComponent(f.runId)}`}>{f.caseId} #{f.repeat}</a> — {f.reasons.join('; ')}
              </li>
            ))}
          </ul>
        </>
      )}
      {suite.online.length > 0 && (
        <>
          <h4>Quality over time (online), per version</h4>
          <table className="table">
            <thead>
              <tr>
                <th>version</th>
                <th>runs</th>
                {scorers.map((n) => (
                  <th key={n}>{n} (mean)</th>
                ))}
                <th>first – last scored</th>
              </tr>
            </thead>
            <tbody>
              {versions.map((v) => {
                const points = suite.online.filter((o) => o.version === v);
                const mean = (n: string) => {
                  const values = points.map((p) => p.scores[n]).filter((x): x is number => x !== undefined);
                  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
                };
                return (
                  <tr key={v}>
                    <td className="mono small">{v.slice(0, 12)}</td>
                    <td>{points.length}</td>
                    {scorers.map((n) => (
                      <td key={n}>{fmt(mean(n))}</td>
                    ))}
                    <td className="small">
                      {new Date(points[0]!.scoredAt).toLocaleString()} – {new Date(points.at(-1)!.scoredAt).toLocaleString()}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
