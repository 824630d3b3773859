import { useEffect, useMemo } from 'react';
import { ago, count } from '../model/format.js';
import { formatStateValue } from '../model/machineGraph.js';
import { actorLabels, actorStepAt, actorTree, viewIndex } from '../model/RunTimeline.js';
import { failureOf } from '../model/failureOf.js';
import { CostChart, costPointsOfJobs } from './CostChart.js';
import { useNow, useStudio, useStudioState, useUi } from './hooks.js';
import { MachineDiagram } from './MachineDiagram.js';
import { Lineage } from './RunsPage.js';
import { SendEventForm } from './SendEventForm.js';
import { deadlineText, StatusBadge, WaitingBadge, waitingText } from './StatusBadge.js';
import { StepInspector } from './StepInspector.js';
import { Cost } from './Cost.js';
import { Timeline } from './Timeline.js';
import { VersionMove } from '../editor/ui/VersionMove.js';

export { prefetchLayout } from '../model/layoutGraph.js';

/** One run, live: agents tree, diagram with the current state lit, timeline with scrubber, the step inspector. */
export function RunView({ runId }: { runId: string }) {
  const studio = useStudio();
  const { run, runs, runError, machines, runtime } = useStudioState();
  const cursor = useUi((c) => c.cursor);
  const selectedActorId = useUi((c) => c.selectedActorId);
  const now = useNow();
  const summary = runs[runId] ?? run?.detail?.run;
  const timeline = run?.runId === runId ? run : undefined;
  const index = timeline ? viewIndex(timeline, cursor) : -1;
  const viewed = timeline && index >= 0 ? timeline.steps[index] : undefined;
  const actorId = selectedActorId ?? runId;
  const actor = timeline?.actors[actorId];
  const actorStep = timeline && index >= 0 ? actorStepAt(timeline, index, actorId) : undefined;
  const machineName = actor?.machine ?? summary?.machine;
  const version = actorStep?.version ?? actor?.version ?? summary?.version;
  const machine = machineName ? machines[machineName] : undefined;
  // An inspected app's actor (not durable) brings its structure with it.
  const config = actor?.definition ?? machine?.versions.find((v) => v.version === version)?.config ?? machine?.versions.at(-1)?.config;
  const tree = useMemo(() => (timeline ? actorTree(timeline) : []), [timeline]);
  const jobs = timeline?.detail?.jobs ?? [];
  const costPoints = useMemo(() => costPointsOfJobs(jobs, timeline?.actors ?? {}), [jobs, timeline?.actors]);
  const failed = jobs.some((j) => j.status === 'failed') || Object.values(timeline?.actors ?? {}).some((a) => a.status === 'error');
  const labels = useMemo(() => actorLabels(tree.map((t) => t.actor), runId), [tree, runId]);
  const rootActor = timeline?.detail?.actors.find((a) => a.id === runId);
  const failure = summary ? failureOf(summary, rootActor, jobs) : undefined;
  const viewedStatus = actorStep?.status ?? actor?.status;

  useEffect(() => {
    if (!machine && machineName && summary?.durable !== false) void studio.loadMachines();
  }, [machine, machineName, studio]);

  if (runError) {
    return (
      <div className="page">
        <p className="error">{runError}</p>
        <a href="#/">Back to runs</a>
      </div>
    );
  }
  return (
    <div className="run-view" data-testid="run-view">
      <section className="run-head">
        <div>
          <a href="#/" className="muted">
            ← Runs
          </a>
          <h1 className="mono" data-testid="run-id">
            {runId}
          </h1>
          {summary?.forkedFrom && <Lineage from={summary.forkedFrom} runId={runId} />}
          <div className="run-facts">
            {summary && (summary.waitingFor?.length ? <WaitingBadge waiting={summary.waitingFor} now={now} /> : <StatusBadge status={summary.status} />)}
            <span>{summary?.machine}</span>
            {summary?.durable === false && (
              <span className="badge" data-testid="inspected-marker" title="An XState app inspected live (@statelyai/inspect): nothing is stored; it cannot be resumed, forked or sent events from here">
                inspected · not durable
              </span>
            )}
            <span className="mono" data-testid="run-current-state">
              {formatStateValue(summary?.state)}
            </span>
            <span>{summary?.steps ?? 0} steps</span>
            <span>{count(summary?.tokens.total ?? 0)} tokens</span>
            <Cost usd={summary?.costUsd ?? 0} unpriced={summary?.unpriced} />
            {summary && <span className="muted">started {ago(summary.createdAt, now)}</span>}
          </div>
          {summary?.waitingFor?.map((w) => (
            <div className="banner waiting" data-testid="run-waiting" key={w.approvalId}>
              <strong>Waiting for {waitingText(w)}</strong>
              <span>
                {w.actorId === runId ? '' : `(${labels.get(w.actorId) ?? w.actorId}) `}since {ago(w.requestedAt, now)} · {deadlineText(w, now)}
              </span>
              <a href="#/approvals">Decide in the Approvals inbox →</a>
            </div>
          ))}
          {failure && (
            <div className="banner failed" data-testid="run-failure" role="status">
              <strong>{failure.title}</strong>
              <span>{failure.reason}</span>
            </div>
          )}
        </div>
        <div className="run-actions">
          {failed && (
            <button onClick={() => void studio.retry(runId)} title="Retry the failed step (a backing-off job runs now; a failed one is retried in a fork)">
              Retry failed step
            </button>
          )}
          {summary?.status === 'active' && (
            <button className="danger" onClick={() => void studio.cancel(runId)}>
              Cancel run
            </button>
          )}
        </div>
      </section>

      <div className="run-grid">
        <aside className="panel agents">
          <h3>Agents</h3>
          <p className="hint">The supervisor and the agents it runs. Select one to see its machine.</p>
          <ul className="tree" data-testid="agents-tree">
            {tree.map(({ actor: a, depth }) => {
              const at = timeline && index >= 0 ? actorStepAt(timeline, index, a.id) : undefined;
              return (
                <li key={a.id} style={{ paddingLeft: depth * 14 }}>
                  <button className={`tree-item ${a.id === actorId ? 'selected' : ''}`} onClick={() => studio.ui.trigger.selectActor({ actorId: a.id })}>
                    <StatusBadge status={at?.status ?? a.status} />
                    <span className="tree-name" data-testid="agent-name" title={a.id}>
                      {labels.get(a.id)}
                    </span>
                    <span className="mono muted">{formatStateValue(at?.value)}</span>
                  </button>
                </li>
              );
            })}
          </ul>
        </aside>

        <section className="panel diagram-panel">
          <div className="panel-head">
            <h3>
              {machineName ?? 'machine'} <span className="muted" data-testid="actor-role">{actorId === runId ? 'top-level machine of this run' : `agent ${labels.get(actorId) ?? actorId.slice(runId.length + 1)}`}</span>
            </h3>
            <VersionMove key={actorId} studio={studio} actorId={actorId} version={actor?.version ?? summary?.version} active={(actor?.status ?? summary?.status) === 'active'} machine={machine} />
            <span className="muted">
              {cursor === null ? 'live: the lit state is where this agent is now' : `at step ${index + 1} of ${timeline?.steps.length}: the lit state is where it was then`}
            </span>
          </div>
          {config ? (
            <MachineDiagram config={config} value={actorStep?.value} label={machineName ?? ''} failed={viewedStatus === 'error' || (actorId === runId && cursor === null && failure?.tone === 'failed')} />
          ) : (
            <p className="muted pad">{machineName ? `Loading the diagram of ${machineName}…` : 'Waiting for the first step…'}</p>
          )}
        </section>

        <section className="panel inspector">
          {viewed && timeline ? <StepInspector timeline={timeline} step={viewed} index={index} /> : <p className="muted">No steps yet.</p>}
        </section>

        <section className="panel timeline-panel">
          {timeline && <Timeline timeline={timeline} index={index} live={cursor === null} />}
        </section>

        <section className="panel side">
          <SendEventForm runId={runId} actorId={actorId} machine={machine} runtime={runtime} active={actor?.status === 'active'} />
          <div className="cost-mini">
            <h3>Spend</h3>
            {costPoints.length ? (
              <CostChart points={costPoints} grouping="agent" width={380} height={150} />
            ) : (
              <p className="hint">No model calls with usage in this run yet. Tokens and cost appear per step once agents call models.</p>
            )}
          </div>
        </section>
      </div>
    </div>
  );
}
