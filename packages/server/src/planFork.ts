import {
  ApprovalDesk,
  riskPoliciesOfConfig,
  type ActorRecord,
  type ApprovalRecord,
  type HistoryRow,
  type JobRecord,
  type MachineConfigJson,
  type NewJob,
  type RiskPolicy,
  type RunFork,
  type Store,
} from '@spine/runtime';
import { parseJson, stepOfJobKey } from './RunReader.js';
import { ServerError } from './ServerError.js';

/** Named delays of a machine, from its implementation (numeric `after` keys need none). */
export type DelayResolver = (machine: string) => Record<string, number | ((args: any) => number)> | undefined;

/** Options of planFork. */
export interface PlanForkOptions {
  runId: string;
  /** The step to fork from: an actor of the run (default: the root) and its seq. */
  actorId?: string;
  seq: number;
  newRunId: string;
  now: number;
  delays?: DelayResolver;
  /** Who forks, for the audit log (default `studio`). */
  by?: string;
  /**
   * The forked actor's new context at the fork point (already checked against its machine's
   * context schema): written into its snapshot with a `spine.context.edited` step, before the
   * fork goes on.
   */
  context?: Record<string, unknown>;
}

/**
 * Plans a fork of a run from any of its past steps (see RunFork); `Store.forkRun`
 * writes it. Reads only. History rows up to the fork point are copied under new
 * ids, each actor starts from its snapshot at that point, and the work that was
 * pending there is requested again: activities in flight, `after` timers of the
 * active states, and the init events of children spawned but not yet started.
 * A risky activity (medium or high tier in the actor's machine version) is
 * requested `held` with a new approval, whatever became of it in the source run.
 */
export async function planFork(store: Store, options: PlanForkOptions): Promise<RunFork> {
  const { runId: sourceRunId, newRunId, now } = options;
  const pointActorId = options.actorId ?? sourceRunId;
  const root = await store.getActor(sourceRunId);
  if (!root || root.runId !== sourceRunId) throw new ServerError('unknown_run', `No run with id '${sourceRunId}'.`);
  if (await store.getActor(newRunId)) throw new ServerError('conflict', `A run with id '${newRunId}' already exists.`);
  const pointRow = await store.historyRow(pointActorId, options.seq);
  if (!pointRow || pointRow.runId !== sourceRunId) {
    throw new ServerError('not_found', `Run '${sourceRunId}' has no step ${options.seq} of actor '${pointActorId}'. Pick a step from the run's timeline.`);
  }
  const rows = await store.runHistory(sourceRunId, { upToRowId: pointRow.rowId });
  const lastRow = new Map<string, HistoryRow>();
  for (const row of rows) lastRow.set(row.actorId, row);

  const remap = makeRemap(sourceRunId, newRunId);
  const notes: string[] = [];
  const point = { actorId: pointActorId, seq: options.seq, rowId: pointRow.rowId };
  const fork: RunFork = { sourceRunId, runId: newRunId, point, at: now, actors: [], history: [], events: [], jobs: [], approvals: [], audit: [], notes };
  const all = await store.listActors({ runId: sourceRunId, limit: 100_000 });
  const byId = new Map(all.map((a) => [a.id, a]));
  const jobs = await store.listJobs({ runId: sourceRunId });
  const sourceApprovals = new Map((await store.listApprovals({ runId: sourceRunId, limit: 100_000 })).map((a) => [a.jobKey, a]));
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
      const init = await initEventOf(store, actor);
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
    fork.history.push({ ...row, actorId: remap.id(row.actorId), runId: newRunId, event: remap.json(row.event), snapshot: remap.json(row.snapshot) });
  }
  // `rowId` is the source's; the copy gets its own row ids.
  for (const h of fork.history) delete (h as Partial<HistoryRow>).rowId;

  for (const forked of fork.actors) {
    if (forked.status !== 'active' || !forked.snapshot) continue;
    const sourceId = [...included].find((id) => remap.id(id) === forked.id)!;
    const source = byId.get(sourceId)!;
    const snapshot = parseJson(forked.snapshot) as { value?: unknown; context?: unknown; children?: Record<string, { src?: unknown }> } | undefined;
    const config = parseJson(await store.getMachineVersion(forked.machine, forked.version)) as MachineConfigJson | undefined;
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
      const newJob: NewJob = { key: `${forked.id}:${forked.seq}:fork${index++}`, actorId: forked.id, runId: newRunId, childId: childKey, src: job.src, input: remap.json(job.input), runAt: now };
      // A risky activity waits for a person in the fork too: approving it in the source run does not carry over.
      const sourceApproval = sourceApprovals.get(job.key);
      const policy = policies?.get(childKey) ?? (sourceApproval ? policyOfApproval(sourceApproval) : undefined);
      if (!policies && !sourceApproval) notes.push(`Machine ${forked.machine}@${forked.version} is not stored; '${job.src}' of '${forked.id}' was requested without a risk check.`);
      if (policy && policy.tier !== 'low') {
        newJob.held = true;
        const rationale = ApprovalDesk.rationale({ policy, context: snapshot?.context, event: 'spine.run.forked', src: job.src, lastJournal: lastJournalBefore(jobs, source.id, pointRow.startedAt) });
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
    for (const timer of afterTimers(config as MachineNode, snapshot?.value)) {
      const delay = resolveDelay(timer.delay, options.delays?.(forked.machine), snapshot?.context);
      if (delay === undefined) {
        notes.push(`Delay '${timer.delay}' of '${forked.id}' is not known to this server; its timer was not re-created.`);
        continue;
      }
      fork.events.push({ actorId: forked.id, type: timer.type, event: JSON.stringify({ type: timer.type }), dueAt: now + delay, sendId: timer.type, source: forked.id });
    }
  }

  let contextEdited: string[] | undefined;
  if (options.context) contextEdited = editContext(fork, remap.id(pointActorId), options.context, now);

  // A marker step on the root says where the run came from.
  const forkedRoot = fork.actors.find((a) => a.id === newRunId);
  if (!forkedRoot) throw new ServerError('conflict', `The root of run '${sourceRunId}' had not started at that step.`);
  if (forkedRoot.snapshot) {
    forkedRoot.seq += 1;
    fork.history.push({
      actorId: newRunId,
      runId: newRunId,
      seq: forkedRoot.seq,
      eventType: 'spine.run.forked',
      event: JSON.stringify({ type: 'spine.run.forked', from: { runId: sourceRunId, actorId: pointActorId, seq: options.seq } }),
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
    who: options.by ?? 'studio',
    subject: newRunId,
    detail: JSON.stringify({
      from: { runId: sourceRunId, actorId: pointActorId, seq: options.seq },
      jobs: fork.jobs.map((j) => ({ key: j.key, src: j.src, held: Boolean(j.held) })),
      ...(contextEdited ? { contextEdited: true, editedFields: contextEdited } : {}),
    }),
  });
  return fork;
}

/**
 * Replaces the forked actor's context in its snapshot and records the edit as its own step
 * (`spine.context.edited`, listing the changed fields), so the fork's timeline shows it.
 * Returns the changed top-level fields.
 */
function editContext(fork: RunFork, actorId: string, context: Record<string, unknown>, now: number): string[] {
  const actor = fork.actors.find((a) => a.id === actorId);
  const snapshot = actor?.snapshot ? (parseJson(actor.snapshot) as { context?: Record<string, unknown> } | undefined) : undefined;
  if (!actor || !snapshot) throw new ServerError('conflict', `Actor '${actorId}' had not started at that step, so it has no context to edit.`);
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
  return Boolean(children && childKey in children);
}

async function initEventOf(store: Store, actor: ActorRecord): Promise<string | undefined> {
  const first = await store.historyRow(actor.id, 1);
  if (first) return first.event;
  const pending = await store.nextEvents(actor.id, Number.MAX_SAFE_INTEGER, 16);
  return pending.find((e) => e.type === 'xstate.init')?.event;
}

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

interface MachineNode {
  id?: string;
  after?: Record<string, unknown>;
  states?: Record<string, MachineNode>;
}

/** The `after` timers of the state nodes active in a state value: event type and delay key, as XState names them. */
export function afterTimers(config: MachineNode, value: unknown): { type: string; delay: string }[] {
  const machineId = config.id ?? '(machine)';
  const timers: { type: string; delay: string }[] = [];
  const visit = (node: MachineNode | undefined, path: string[], value: unknown) => {
    if (!node) return;
    const id = path.length === 0 ? machineId : (node.id ?? [machineId, ...path].join('.'));
    for (const key of Object.keys(node.after ?? {})) {
      const delay = Number.isNaN(Number(key)) ? key : String(Number(key));
      timers.push({ type: `xstate.after.${delay}.${id}`, delay });
    }
    if (typeof value === 'string') visit(node.states?.[value], [...path, value], undefined);
    else if (value && typeof value === 'object') for (const [key, sub] of Object.entries(value)) visit(node.states?.[key], [...path, key], sub);
  };
  visit(config, [], value);
  return timers;
}

function resolveDelay(delay: string, named: Record<string, number | ((args: any) => number)> | undefined, context: unknown): number | undefined {
  const numeric = Number(delay);
  if (!Number.isNaN(numeric)) return numeric;
  const entry = named && Object.prototype.hasOwnProperty.call(named, delay) ? named[delay] : undefined;
  if (typeof entry === 'number') return entry;
  if (typeof entry === 'function') {
    try {
      const value = entry({ context, event: { type: 'spine.run.forked' } });
      return typeof value === 'number' ? value : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
