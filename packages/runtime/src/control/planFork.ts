import { ApprovalDesk } from '../ApprovalDesk.js';
import type { MachineConfigJson } from '../defineMachine.js';
import { SpineError } from '../errors.js';
import { riskPoliciesOfConfig, type RiskPolicy } from '../riskPolicy.js';
import type { ActorRecord, ApprovalRecord, HistoryRow, InheritedJob, JobRecord, NewJob, RunFork } from '../Store.js';
import { afterTimers, resolveDelay, type DelayResolver } from './afterTimers.js';
import { parseJson, stepOfJobKey } from './json.js';
import { jobKey } from '../step/jobKey.js';

/** Everything a fork is planned from, read once by `readForkInputs`. */
export interface ForkInputs {
  sourceRunId: string;
  /** The step forked from: an actor of the run, its seq, and that step's history row. */
  point: { actorId: string; seq: number; row: HistoryRow };
  /** The run's history up to and including the point row, in commit order. */
  rows: HistoryRow[];
  /** Every actor of the source run. */
  actors: ActorRecord[];
  /** Every job of the source run. */
  jobs: JobRecord[];
  /** Every approval of the source run. */
  approvals: ApprovalRecord[];
  /** Stored machine structures by `machine@version` (undefined when not stored). */
  configs: ReadonlyMap<string, MachineConfigJson | undefined>;
  /** The init event (JSON) of each actor that had not started by the point, when it is still known. */
  initEvents: ReadonlyMap<string, string | undefined>;
}

/** What a fork is, besides its inputs. */
export interface ForkPlanOptions {
  newRunId: string;
  now: number;
  /** Named delays of a machine, to re-create `after` timers (numeric delays need none). */
  delays?: DelayResolver;
  /** Who forks, for the audit log (default `system`). */
  by?: string;
  /**
   * The forked actor's new context at the fork point (already checked against its machine's
   * context schema): written into its snapshot with a `spine.context.edited` step.
   */
  context?: Record<string, unknown>;
}

/**
 * Plans a fork of a run from one of its past steps (pure: see RunFork; `Store.forkRun`
 * writes it). History rows up to the fork point are copied under the new run id, each
 * actor starts from its snapshot at that point, and the work pending there is requested
 * again: activities in flight, `after` timers of the active states, the init events of
 * children spawned but not started. A risky activity (medium or high tier in the actor's
 * machine version) is requested `held` with a new approval, whatever became of it in the
 * source run. Work the prefix finished is copied with its journal (usage and cost) marked
 * inherited, so the fork's costs include what its past paid for.
 *
 * @throws SpineError `conflict` when the root had not started at that step, or an edited
 * context names an actor that had not started.
 */
export function planFork(inputs: ForkInputs, options: ForkPlanOptions): RunFork {
  const { sourceRunId, point: at, rows, actors: all, jobs } = inputs;
  const { newRunId, now } = options;
  const pointActorId = at.actorId;
  const lastRow = new Map<string, HistoryRow>();
  for (const row of rows) lastRow.set(row.actorId, row);

  const remap = makeRemap(sourceRunId, newRunId);
  const notes: string[] = [];
  const point = { actorId: pointActorId, seq: at.seq, rowId: at.row.rowId };
  const fork: RunFork = { sourceRunId, runId: newRunId, point, at: now, actors: [], history: [], events: [], jobs: [], approvals: [], inheritedJobs: [], audit: [], notes };
  const byId = new Map(all.map((a) => [a.id, a]));
  const sourceApprovals = new Map(inputs.approvals.map((a) => [a.jobKey, a]));
  const included = new Set<string>();

  // Parents come before children (ids grow by `/childKey`), so a child can look at its parent's fork.
  for (const actor of [...all].sort((a, b) => a.id.length - b.id.length || a.createdAt - b.createdAt)) {
    const last = lastRow.get(actor.id);
    const newId = remap.id(actor.id);
    const parentSnapshot = actor.parentId ? forkedSnapshotOf(fork, remap.id(actor.parentId)) : undefined;
    // An agent that took steps before the point came along, whether or not it is still the parent's child
    // there (a finished agent is no longer in its parent's snapshot, but its history is part of the run).
    const existsAtPoint = !actor.parentId || (included.has(actor.parentId) && actor.childKey !== null && (last !== undefined || hasChild(parentSnapshot, actor.childKey)));
    if (!existsAtPoint) continue;
    if (last) {
      fork.actors.push({
        id: newId,
        runId: newRunId,
        parentId: actor.parentId && remap.id(actor.parentId),
        childKey: actor.childKey,
        machine: actor.machine,
        version: last.version,
        seq: last.seq,
        status: last.status,
        snapshot: remap.json(last.snapshot),
        stateValue: last.stateValue,
        output: last.status === 'done' && actor.status === 'done' && actor.seq === last.seq ? actor.output : null,
        error: last.status === 'error' && actor.seq === last.seq ? actor.error : null,
      });
    } else {
      // Spawned at or before the point but not started yet: start it afresh from its init event.
      const init = inputs.initEvents.get(actor.id);
      if (!init) {
        notes.push(`Child '${actor.id}' had not started at the fork point and its init event is gone; it was left out.`);
        continue;
      }
      fork.actors.push({ id: newId, runId: newRunId, parentId: actor.parentId && remap.id(actor.parentId), childKey: actor.childKey, machine: actor.machine, version: actor.version, seq: 0, status: 'active', snapshot: null, stateValue: null, output: null, error: null });
      fork.events.push({ actorId: newId, type: 'xstate.init', event: remap.json(init), dueAt: now, source: actor.parentId ? remap.id(actor.parentId) : 'external' });
    }
    included.add(actor.id);
  }

  for (const row of rows) {
    if (!included.has(row.actorId)) continue;
    const { rowId: _sourceRowId, ...record } = row; // the copy gets its own row ids
    fork.history.push({ ...record, actorId: remap.id(row.actorId), runId: newRunId, event: remap.json(row.event), snapshot: remap.json(row.snapshot) });
  }

  fork.inheritedJobs.push(...inheritedJobs(inputs, included, remap));

  for (const forked of fork.actors) {
    if (forked.status !== 'active' || !forked.snapshot) continue;
    const sourceId = [...included].find((id) => remap.id(id) === forked.id)!;
    const source = byId.get(sourceId)!;
    const snapshot = parseJson(forked.snapshot) as { value?: unknown; context?: unknown; children?: Record<string, { src?: unknown }> } | undefined;
    const config = inputs.configs.get(`${forked.machine}@${forked.version}`);
    const policies = config ? policiesOf(config) : undefined;
    // Activities in flight at the point are requested again (a new run: new idempotency keys).
    let index = 0;
    for (const [childKey, child] of Object.entries(snapshot?.children ?? {})) {
      if (all.some((a) => a.parentId === source.id && a.childKey === childKey)) continue; // a durable child actor
      const job = jobs
        .filter((j) => j.actorId === source.id && j.childId === childKey && (stepOfJobKey(j.key, j.actorId) ?? Infinity) <= forked.seq)
        .sort((a, b) => (stepOfJobKey(b.key, b.actorId) ?? 0) - (stepOfJobKey(a.key, a.actorId) ?? 0))[0];
      if (!job) {
        notes.push(`No job found for invoke '${childKey}' (${String(child.src)}) of '${source.id}'; it was not requested again.`);
        continue;
      }
      const newJob: NewJob = { key: jobKey(forked.id, forked.seq, `fork${index++}`), actorId: forked.id, runId: newRunId, childId: childKey, src: job.src, input: remap.json(job.input), runAt: now };
      // A risky activity waits for a person in the fork too: approving it in the source run does not carry over.
      const sourceApproval = sourceApprovals.get(job.key);
      const policy = policies?.get(childKey) ?? (sourceApproval ? policyOfApproval(sourceApproval) : undefined);
      if (!policies && !sourceApproval) notes.push(`Machine ${forked.machine}@${forked.version} is not stored; '${job.src}' of '${forked.id}' was requested without a risk check.`);
      if (policy && policy.tier !== 'low') {
        newJob.held = true;
        const rationale = ApprovalDesk.rationale({ policy, context: snapshot?.context, event: 'spine.run.forked', src: job.src, lastJournal: lastJournalBefore(jobs, source.id, at.row.startedAt) });
        const { approval, audit } = ApprovalDesk.request({
          job: newJob,
          machine: forked.machine,
          version: forked.version,
          seq: forked.seq,
          policy,
          rationale: { ...rationale, forkedFrom: { runId: sourceRunId, jobKey: job.key, approvalId: sourceApproval?.id ?? null, approvalStatus: sourceApproval?.status ?? null } },
          now,
        });
        fork.approvals.push(approval);
        fork.audit.push(...audit);
      }
      fork.jobs.push(newJob);
    }
    // `after` timers of the active states start again from the fork.
    if (!config) {
      notes.push(`Machine ${forked.machine}@${forked.version} is not stored; timers of '${forked.id}' were not re-created.`);
      continue;
    }
    for (const timer of afterTimers(config, snapshot?.value)) {
      const delay = resolveDelay(timer.delay, options.delays?.(forked.machine), snapshot?.context, 'spine.run.forked');
      if (delay === undefined) {
        notes.push(`Delay '${timer.delay}' of '${forked.id}' is not known here; its timer was not re-created.`);
        continue;
      }
      fork.events.push({ actorId: forked.id, type: timer.type, event: JSON.stringify({ type: timer.type }), dueAt: now + delay, sendId: timer.type, source: forked.id });
    }
  }

  let contextEdited: string[] | undefined;
  if (options.context) contextEdited = editContext(fork, remap.id(pointActorId), options.context, now);

  // A marker step on the root says where the run came from.
  const forkedRoot = fork.actors.find((a) => a.id === newRunId);
  if (!forkedRoot) throw new SpineError('conflict', `The root of run '${sourceRunId}' had not started at that step.`, { actorId: sourceRunId });
  if (forkedRoot.snapshot) {
    forkedRoot.seq += 1;
    fork.history.push({
      actorId: newRunId,
      runId: newRunId,
      seq: forkedRoot.seq,
      eventType: 'spine.run.forked',
      event: JSON.stringify({ type: 'spine.run.forked', from: { runId: sourceRunId, actorId: pointActorId, seq: at.seq } }),
      stateValue: forkedRoot.stateValue ?? 'null',
      snapshot: forkedRoot.snapshot,
      status: forkedRoot.status,
      version: forkedRoot.version,
      emitted: null,
      startedAt: now,
      durationUs: 0,
    });
  }
  fork.audit.unshift({
    at: now,
    runId: newRunId,
    actorId: newRunId,
    kind: 'run.forked',
    who: options.by ?? 'system',
    subject: newRunId,
    detail: JSON.stringify({
      from: { runId: sourceRunId, actorId: pointActorId, seq: at.seq },
      jobs: fork.jobs.map((j) => ({ key: j.key, src: j.src, held: Boolean(j.held) })),
      ...(contextEdited ? { contextEdited: true, editedFields: contextEdited } : {}),
    }),
  });
  return fork;
}

/**
 * The work of the prefix, copied with what it paid for: each job of an actor that came
 * along, requested at or before that actor's step at the point, with the journal entries of
 * the attempts that had ended by the point, each marked `inherited` with the run and job
 * that paid (kept from the first run when the source was itself a fork). A job finished by
 * then keeps its status and result; one still in flight there is `cancelled` (the fork
 * requests it again under a new key). A job with no such entry is left out.
 */
function inheritedJobs(inputs: ForkInputs, included: ReadonlySet<string>, remap: Remap): InheritedJob[] {
  const pointAt = inputs.point.row.startedAt;
  const seqAtPoint = new Map<string, number>();
  for (const row of inputs.rows) seqAtPoint.set(row.actorId, row.seq);
  const out: InheritedJob[] = [];
  for (const job of inputs.jobs) {
    if (!included.has(job.actorId)) continue;
    const step = stepOfJobKey(job.key, job.actorId);
    if (step === null || step > (seqAtPoint.get(job.actorId) ?? 0)) continue;
    const journal = parseJson(job.journal);
    const entries = (Array.isArray(journal) ? (journal as unknown[]) : []).filter((e): e is Record<string, unknown> => Boolean(e) && typeof e === 'object' && !Array.isArray(e));
    const finished = (job.status === 'done' || job.status === 'failed') && job.finishedAt !== null && job.finishedAt <= pointAt;
    const paid = entries.filter((e) => finished || endOf(e) <= pointAt);
    if (!paid.length) continue;
    out.push({
      key: remap.id(job.key),
      actorId: remap.id(job.actorId),
      runId: remap.id(job.runId),
      childId: job.childId,
      src: job.src,
      input: remap.json(job.input),
      status: finished ? job.status : 'cancelled',
      attempts: finished ? job.attempts : paid.length,
      runAt: job.runAt,
      output: finished ? job.output : null,
      error: finished ? job.error : null,
      journal: JSON.stringify(paid.map((e) => ({ ...e, inherited: isInherited(e.inherited) ? e.inherited : { runId: inputs.sourceRunId, jobKey: job.key } }))),
      createdAt: job.createdAt,
      startedAt: job.startedAt,
      finishedAt: finished ? job.finishedAt : pointAt,
    });
  }
  return out;
}

/** When a journal entry's attempt ended (its start plus duration); entries without times count as ended. */
function endOf(entry: Record<string, unknown>): number {
  const started = typeof entry['startedAt'] === 'number' ? entry['startedAt'] : 0;
  return started + (typeof entry['durationMs'] === 'number' ? entry['durationMs'] : 0);
}

function isInherited(value: unknown): value is { runId: string; jobKey: string } {
  return Boolean(value) && typeof value === 'object' && typeof (value as { runId?: unknown }).runId === 'string' && typeof (value as { jobKey?: unknown }).jobKey === 'string';
}

/**
 * Replaces the forked actor's context in its snapshot and records the edit as its own step
 * (`spine.context.edited`, listing the changed fields), so the fork's timeline shows it.
 * Returns the changed top-level fields.
 */
function editContext(fork: RunFork, actorId: string, context: Record<string, unknown>, now: number): string[] {
  const actor = fork.actors.find((a) => a.id === actorId);
  const snapshot = actor?.snapshot ? (parseJson(actor.snapshot) as { context?: Record<string, unknown> } | undefined) : undefined;
  if (!actor || !snapshot) throw new SpineError('conflict', `Actor '${actorId}' had not started at that step, so it has no context to edit.`, { actorId });
  const before = snapshot.context ?? {};
  const fields = [...new Set([...Object.keys(before), ...Object.keys(context)])].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(context[k]));
  actor.snapshot = JSON.stringify({ ...snapshot, context });
  actor.seq += 1;
  fork.history.push({
    actorId,
    runId: fork.runId,
    seq: actor.seq,
    eventType: 'spine.context.edited',
    event: JSON.stringify({ type: 'spine.context.edited', fields }),
    stateValue: actor.stateValue ?? 'null',
    snapshot: actor.snapshot,
    status: actor.status,
    version: actor.version,
    emitted: null,
    startedAt: now,
    durationUs: 0,
  });
  fork.notes.push(fields.length ? `Context of '${actorId}' edited at the fork point: ${fields.join(', ')}.` : `Context of '${actorId}' kept as it was (no field changed).`);
  return fields;
}

/** Risk policies of a stored machine version; undefined when its tiers cannot be read (then the source's approvals decide). */
function policiesOf(config: MachineConfigJson): Map<string, RiskPolicy> | undefined {
  try {
    return riskPoliciesOfConfig(config);
  } catch {
    return undefined;
  }
}

/** The policy a source approval was requested under, for a fork whose machine version cannot be read. */
function policyOfApproval(approval: ApprovalRecord): RiskPolicy {
  const rationale = parseJson(approval.rationale) as { state?: unknown } | undefined;
  return {
    tier: approval.tier,
    deadlineMs: approval.deadlineAt === null ? undefined : approval.deadlineAt - approval.requestedAt,
    onDeadline: approval.onDeadline,
    rationaleFrom: undefined,
    declaredAt: typeof rationale?.state === 'string' ? rationale.state : `approval '${approval.id}'`,
  };
}

/** The last journal entry of an actor's work finished by the fork point, as an approval's rationale shows it. */
function lastJournalBefore(jobs: JobRecord[], actorId: string, at: number): unknown {
  const finished = jobs.filter((j) => j.actorId === actorId && (j.status === 'done' || j.status === 'failed') && j.finishedAt !== null && j.finishedAt <= at);
  for (const job of finished.sort((a, b) => b.finishedAt! - a.finishedAt!)) {
    const entry = (parseJson(job.journal) as Record<string, unknown>[] | undefined)?.at(-1);
    if (entry) return { jobKey: job.key, src: job.src, ...entry };
  }
  return null;
}

function forkedSnapshotOf(fork: RunFork, id: string): unknown {
  const actor = fork.actors.find((a) => a.id === id);
  return actor?.snapshot ? parseJson(actor.snapshot) : undefined;
}

function hasChild(snapshot: unknown, childKey: string): boolean {
  const children = (snapshot as { children?: Record<string, unknown> } | undefined)?.children;
  return Boolean(children && Object.prototype.hasOwnProperty.call(children, childKey));
}

type Remap = ReturnType<typeof makeRemap>;

/** Maps ids of the source run to the fork: the run id prefix is replaced, in ids and inside JSON. */
function makeRemap(from: string, to: string) {
  const mapString = (value: string): string => {
    if (value === from) return to;
    if (value.startsWith(`${from}/`) || value.startsWith(`${from}:`)) return to + value.slice(from.length);
    return value;
  };
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return mapString(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [mapString(k), walk(v)]));
    return value;
  };
  return {
    id: mapString,
    json: (json: string): string => {
      if (!json.includes(from)) return json;
      const parsed = parseJson(json);
      return parsed === undefined ? json : JSON.stringify(walk(parsed));
    },
  };
}
