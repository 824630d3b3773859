import type { RunSummary } from '@spine/server/protocol';
import { useMemo, useState } from 'react';
import { ago, count } from '../model/format.js';
import { formatStateValue } from '../model/machineGraph.js';
import { useNow, useStudio, useStudioState, useUi } from './hooks.js';
import { StatusBadge, WaitingBadge } from './StatusBadge.js';
import { Cost } from './Cost.js';

/** The first screen: what Spine and the studio are, then every run, live. */
export function RunsPage() {
  const studio = useStudio();
  const { runs, runsLoaded, machines, runtime } = useStudioState();
  const filters = useUi((c) => c.filters);
  const now = useNow();
  const all = useMemo(() => Object.values(runs).sort((a, b) => b.createdAt - a.createdAt), [runs]);
  const machineNames = useMemo(() => [...new Set([...all.map((r) => r.machine), ...Object.keys(machines)])].sort(), [all, machines]);
  const shown = all.filter(
    (r) =>
      (filters.status === 'all' || r.status === filters.status || (filters.status === 'waiting' && r.waitingFor?.length > 0)) &&
      (filters.machine === 'all' || r.machine === filters.machine) &&
      (!filters.text || r.runId.includes(filters.text) || formatStateValue(r.state).includes(filters.text)),
  );
  return (
    <div className="page">
      <Intro hasRuns={all.length > 0} />
      <section className="card">
        <div className="card-head">
          <h2>Runs</h2>
          <span className="muted">{runsLoaded ? `${all.length} in this database · updates live` : 'loading…'}</span>
          <div className="filters">
            <select aria-label="Status" value={filters.status} onChange={(e) => studio.ui.trigger.setFilters({ status: e.target.value as typeof filters.status })}>
              <option value="all">any status</option>
              <option value="active">active</option>
              <option value="waiting">waiting for approval</option>
              <option value="done">done</option>
              <option value="error">failed</option>
              <option value="stopped">stopped</option>
            </select>
            <select aria-label="Machine" value={filters.machine} onChange={(e) => studio.ui.trigger.setFilters({ machine: e.target.value })}>
              <option value="all">any machine</option>
              {machineNames.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
            <input aria-label="Search" placeholder="run id or state" value={filters.text} onChange={(e) => studio.ui.trigger.setFilters({ text: e.target.value })} />
          </div>
        </div>
        {runsLoaded && all.length === 0 ? (
          <EmptyRuns runtime={runtime} />
        ) : (
          <table className="runs" data-testid="runs-table">
            <thead>
              <tr>
                <th>Status</th>
                <th>Run</th>
                <th>Machine</th>
                <th>State</th>
                <th className="num">Steps</th>
                <th className="num">Tokens</th>
                <th className="num">Cost</th>
                <th>Started</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((run) => (
                <RunRow key={run.runId} run={run} now={now} onOpen={() => studio.navigate({ page: 'run', runId: run.runId })} />
              ))}
              {shown.length === 0 && all.length > 0 && (
                <tr>
                  <td colSpan={8} className="muted">
                    No run matches these filters.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        )}
      </section>
      {runtime && Object.values(machines).some((m) => m.runnable) && <StartRun />}
    </div>
  );
}

function RunRow({ run, now, onOpen }: { run: RunSummary; now: number; onOpen: () => void }) {
  return (
    <tr className="clickable" onClick={onOpen} data-testid="run-row" data-run-id={run.runId}>
      <td>
        {run.waitingFor?.length ? <WaitingBadge waiting={run.waitingFor} now={now} /> : <StatusBadge status={run.status} />}
      </td>
      <td className="mono">
        <a href={`#/runs/${encodeURIComponent(run.runId)}`} onClick={(e) => e.stopPropagation()}>
          {run.runId}
        </a>
        {run.forkedFrom && <Lineage from={run.forkedFrom} runId={run.runId} />}
      </td>
      <td>
        {run.machine}{' '}
        {run.durable === false && (
          <span className="badge" data-testid="inspected-marker" title="An XState app inspected live (@statelyai/inspect): not durable, nothing stored">
            inspected · not durable
          </span>
        )}
      </td>
      <td className="mono" data-testid="run-state">
        {formatStateValue(run.state)}
      </td>
      <td className="num">{run.steps}</td>
      <td className="num">{count(run.tokens.total)}</td>
      <td className="num">
        <Cost usd={run.costUsd} unpriced={run.unpriced} />
      </td>
      <td className="muted" title={new Date(run.createdAt).toLocaleString()}>
        {ago(run.createdAt, now)}
      </td>
    </tr>
  );
}

/** Where a forked run came from: `forked from <run> at step N` (and whether its context was edited). */
export function Lineage({ from, runId }: { from: NonNullable<RunSummary['forkedFrom']>; runId: string }) {
  const at = from.actorId === from.runId ? '' : ` of ${from.actorId.slice(from.runId.length + 1)}`;
  return (
    <div className="lineage muted" data-testid="lineage" data-from={from.runId}>
      ↳ forked from{' '}
      <a href={`#/runs/${encodeURIComponent(from.runId)}`} onClick={(e) => e.stopPropagation()} title={`${runId} started as a copy of ${from.runId}`}>
        {from.runId}
      </a>{' '}
      at step {from.seq}
      {at}
      {from.contextEdited ? ', context edited' : ''}
    </div>
  );
}

function Intro({ hasRuns }: { hasRuns: boolean }) {
  const [open, setOpen] = useState(!hasRuns);
  return (
    <section className="intro" data-testid="intro">
      <h1>A live window into your durable agents</h1>
      <p className="lead">
        <strong>Spine</strong> runs each AI agent as a state machine whose every step is committed to a database before anything it
        causes happens. A crash, a deploy or a three-day wait for a human costs nothing: the run resumes where it stopped and pays for
        no model call twice. This studio shows every run in the database, step by step, as it happens.
      </p>
      {(open || !hasRuns) && (
        <ul className="howto">
          <li>
            <strong>Runs</strong> below are executions of a machine (an agent, with any agents it supervises). They update live,
            whichever process runs them.
          </li>
          <li>
            <strong>Open a run</strong> to see its machine diagram with the current state lit, the timeline of events, and for each step
            the event, the state, what changed in the context, and the model or tool call it made (tokens, cost, latency, retries).
          </li>
          <li>
            <strong>Scrub back</strong> through the timeline to see the run at any past step, and <strong>fork</strong> from there to try
            a different path without touching the original.
          </li>
        </ul>
      )}
      {hasRuns && (
        <button className="link" onClick={() => setOpen(!open)}>
          {open ? 'Hide the guide' : 'How to read this'}
        </button>
      )}
    </section>
  );
}

function EmptyRuns({ runtime }: { runtime: boolean }) {
  return (
    <div className="empty" data-testid="empty-runs">
      <p>
        <strong>No runs yet.</strong> Runs appear here the moment any process starts one on this database.
      </p>
      <p>Start one from a terminal (in another window; this page updates by itself):</p>
      <pre>npx spine run &lt;machine&gt; --machines machines --db .spine/spine.db</pre>
      <p>
        or run the offline demo with <code>npm start</code>.{runtime ? ' You can also start a run with the form below.' : ''}
      </p>
    </div>
  );
}

function StartRun() {
  const studio = useStudio();
  const { machines } = useStudioState();
  const runnable = Object.values(machines).filter((m) => m.runnable);
  const [machine, setMachine] = useState(runnable[0]?.name ?? '');
  const [input, setInput] = useState('');
  const [error, setError] = useState<string | undefined>();
  const submit = () => {
    let parsed: unknown;
    try {
      parsed = input.trim() ? JSON.parse(input) : undefined;
    } catch (e) {
      setError(`Input is not JSON: ${(e as Error).message}`);
      return;
    }
    setError(undefined);
    void studio.startRun(machine, parsed);
  };
  return (
    <section className="card">
      <div className="card-head">
        <h2>Start a run</h2>
        <span className="muted">on this server's runtime</span>
      </div>
      <div className="form-row">
        <select aria-label="Machine to start" value={machine} onChange={(e) => setMachine(e.target.value)}>
          {runnable.map((m) => (
            <option key={m.name}>{m.name}</option>
          ))}
        </select>
        <input className="grow mono" aria-label="Run input (JSON)" placeholder='input as JSON, e.g. {"topic":"durable agents"}' value={input} onChange={(e) => setInput(e.target.value)} />
        <button onClick={submit} disabled={!machine}>
          Start
        </button>
      </div>
      {error && <p className="error">{error}</p>}
    </section>
  );
}
