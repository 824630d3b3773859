import type { JobJson, PartialJson } from '@spine/server/protocol';
import { clock, count, duration } from '../model/format.js';
import { diffJson } from '../model/diffJson.js';
import { formatStateValue } from '../model/machineGraph.js';
import { previousStep, type RunTimeline, type Step } from '../model/RunTimeline.js';
import { livePartial } from '../model/livePartial.js';
import { useState } from 'react';
import { useStudio, useStudioState } from './hooks.js';
import { Cost } from './Cost.js';
import { Json } from './Json.js';
import { FieldIssueList, type FieldIssue } from './FieldIssueList.js';

/** Everything about one step: the event, the state, what changed in the context, and the activity calls. */
export function StepInspector({ timeline, step, index }: { timeline: RunTimeline; step: Step; index: number }) {
  const studio = useStudio();
  const before = previousStep(timeline, step);
  const changes = before ? diffJson(before.context, step.context) : [];
  const jobs = timeline.detail?.jobs ?? [];
  const requested = jobs.filter((j) => j.actorId === step.actorId && j.step === step.seq);
  const resultOf = /^xstate\.(done|error)\.actor\.(.+)$/.exec(step.eventType);
  const answered = resultOf
    ? jobs
        .filter((j) => j.actorId === step.actorId && j.childId === resultOf[2] && (j.step ?? 0) < step.seq)
        .sort((a, b) => (b.step ?? 0) - (a.step ?? 0))
        .slice(0, 1)
    : [];
  // Partial output of a job this step requested whose row has not been loaded yet: shown at once.
  const { partials } = useStudioState();
  const unloaded = Object.values(partials).filter((p) => !p.ended && p.jobKey.startsWith(`${step.actorId}:${step.seq}:`) && !requested.some((j) => j.key === p.jobKey));
  const actorLabel = step.actorId === timeline.runId ? 'the top-level machine' : step.actorId.slice(timeline.runId.length + 1);
  return (
    <div className="step-inspector" data-testid="step-inspector" data-seq={step.seq} data-actor={step.actorId}>
      <div className="panel-head">
        <h3>
          Step {step.seq} of {actorLabel}
        </h3>
        <span className="muted">
          {clock(step.at)} · took {duration(step.durationUs)} · #{index + 1} in the run
        </span>
      </div>
      <dl className="facts">
        <dt>Event</dt>
        <dd className="mono" data-testid="step-event">
          {step.eventType}
        </dd>
        <dt>State after</dt>
        <dd className="mono state-value" data-testid="step-state">
          {formatStateValue(step.value)}
        </dd>
        <dt>Status</dt>
        <dd>{step.status}</dd>
      </dl>
      <details open={Object.keys(step.event).length > 1}>
        <summary>Event payload</summary>
        <Json value={step.event} testId="step-event-json" max={10} />
      </details>
      <h4>Context change {before ? `since step ${before.seq}` : '(first step)'}</h4>
      {before ? (
        changes.length ? (
          <table className="diff" data-testid="context-diff">
            <tbody>
              {changes.map((c) => (
                <tr key={c.path} className={c.kind}>
                  <td className="mono">{c.path}</td>
                  <td className="mono before">{c.kind === 'added' ? '' : short(c.before)}</td>
                  <td className="mono after">{c.kind === 'removed' ? '(removed)' : short(c.after)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="hint" data-testid="context-diff">
            No change to the context.
          </p>
        )
      ) : null}
      <details>
        <summary>Full context at this step</summary>
        <Json value={step.context} testId="step-context" />
      </details>
      {[...requested.map((j) => ['requested', j] as const), ...answered.map((j) => ['applied the result of', j] as const)].map(([how, job]) => (
        <ActivityCall key={job.key + how} job={job} how={how} runId={timeline.runId} />
      ))}
      {unloaded.map((partial) => (
        <section className="activity" data-testid="activity-call" key={partial.jobKey}>
          <h4>
            This step requested <span className="mono">{partial.src}</span> <span className="badge job-running">running</span>
          </h4>
          <PartialOutput partial={partial} />
        </section>
      ))}
      <EditThenFork key={`${step.actorId}:${step.seq}`} timeline={timeline} step={step} />
      <div className="inspector-actions">
        <button onClick={() => void studio.fork(timeline.runId, step.actorId, step.seq)} data-testid="fork-step" title="Start a new run whose history is a copy of this run up to this step">
          Fork from this step
        </button>
        {index < timeline.steps.length - 1 && (
          <button className="secondary" onClick={() => studio.ui.trigger.goLive()}>
            Back to live
          </button>
        )}
      </div>
    </div>
  );
}

/** Edit the context at this step, then fork from it: the server checks the edit against the machine's context schema. */
function EditThenFork({ timeline, step }: { timeline: RunTimeline; step: Step }) {
  const studio = useStudio();
  const [open, setOpen] = useState(false);
  const [draft, setDraft] = useState(() => JSON.stringify(step.context ?? {}, null, 2));
  const [refusal, setRefusal] = useState<{ message: string; issues: FieldIssue[] } | undefined>();
  let parsed: unknown;
  let jsonError: string | undefined;
  try {
    parsed = JSON.parse(draft);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) jsonError = 'The context is a JSON object.';
  } catch (error) {
    jsonError = (error as Error).message;
  }
  if (!open) {
    return (
      <button className="secondary" data-testid="edit-context" onClick={() => setOpen(true)} title="Change the context at this step, then fork a new run from it">
        Edit context, then fork…
      </button>
    );
  }
  return (
    <section className="edit-context" data-testid="edit-context-form">
      <h4>Edit the context at step {step.seq}, then fork</h4>
      <p className="hint">The new run starts from this step with this context (checked against the machine's context schema); the original run is untouched.</p>
      <textarea
        className="mono"
        rows={10}
        style={{ width: '100%' }}
        data-testid="edit-context-json"
        value={draft}
        onChange={(e) => {
          setDraft(e.target.value);
          setRefusal(undefined);
        }}
      />
      {jsonError && <p className="error">{jsonError}</p>}
      {refusal && (
        <div className="error" role="alert" data-testid="edit-context-error">
          {refusal.message}
          <FieldIssueList issues={refusal.issues} />
        </div>
      )}
      <div className="inspector-actions">
        <button
          data-testid="fork-with-context"
          disabled={Boolean(jsonError)}
          onClick={async () => {
            const outcome = await studio.fork(timeline.runId, step.actorId, step.seq, parsed as Record<string, unknown>);
            setRefusal(outcome.ok ? undefined : outcome);
          }}
        >
          Fork with this context
        </button>
        <button className="secondary" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </section>
  );
}

function ActivityCall({ job, how, runId }: { job: JobJson; how: string; runId: string }) {
  const studio = useStudio();
  const partial = livePartial(job, useStudioState().partials[job.key]);
  const spent = job.tokens.total > 0 || job.costUsd > 0 || Boolean(job.unpriced?.length);
  return (
    <section className="activity" data-testid="activity-call">
      <h4>
        This step {how} <span className="mono">{job.src}</span> <span className={`badge job-${job.status}`}>{job.status}</span>
      </h4>
      <dl className="facts">
        <dt>Attempts</dt>
        <dd>{job.attempts}</dd>
        <dt>Latency</dt>
        <dd>{job.latencyMs === null ? 'running…' : `${job.latencyMs} ms`}</dd>
        {spent && (
          <>
            <dt>Tokens</dt>
            <dd>
              {count(job.tokens.input)} in · {count(job.tokens.output)} out
            </dd>
            <dt>Cost</dt>
            <dd>
              <Cost usd={job.costUsd} unpriced={job.unpriced} />
            </dd>
            {job.models.length > 0 && (
              <>
                <dt>Model</dt>
                <dd className="mono">{job.models.join(', ')}</dd>
              </>
            )}
          </>
        )}
      </dl>
      <details open>
        <summary>Input (prompt)</summary>
        <Json value={job.input} max={10} />
      </details>
      {partial ? (
        <PartialOutput partial={partial} />
      ) : (
        <details open>
          <summary>{job.status === 'failed' ? 'Error' : 'Output (answer)'}</summary>
          <Json value={job.status === 'failed' ? job.error : job.output} max={10} testId="activity-output" />
        </details>
      )}
      {job.journal.length > 0 && (
        <details>
          <summary>Attempts journal ({job.journal.length})</summary>
          <table className="journal">
            <thead>
              <tr>
                <th>#</th>
                <th>outcome</th>
                <th>ms</th>
                <th>details</th>
              </tr>
            </thead>
            <tbody>
              {job.journal.map((entry, i) => {
                const { attempt, outcome, durationMs, host: _host, startedAt: _s, ...rest } = entry;
                return (
                  <tr key={i}>
                    <td>{String(attempt ?? i + 1)}</td>
                    <td>{String(outcome ?? '')}</td>
                    <td className="num">{durationMs === undefined ? '' : String(durationMs)}</td>
                    <td className="mono">{Object.keys(rest).length ? JSON.stringify(rest) : ''}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </details>
      )}
      {(job.status === 'failed' || (job.status === 'pending' && job.attempts > 0)) && (
        <button onClick={() => void studio.retry(runId, job.key)}>Retry this call</button>
      )}
    </section>
  );
}

/** A running attempt's answer so far: display only, replaced by the committed result. */
function PartialOutput({ partial }: { partial: PartialJson }) {
  return (
    <section data-testid="partial" data-attempt={partial.attempt}>
      <h5>
        Answer so far <span className="muted">(attempt {partial.attempt}, streaming; the committed result replaces it)</span>
      </h5>
      <pre className="partial-output mono" data-testid="partial-output">
        {partial.omitted ? `…${partial.text}` : partial.text}
      </pre>
    </section>
  );
}

function short(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? '—' : text.length > 120 ? `${text.slice(0, 117)}…` : text;
}
