import type { AnyMachineSnapshot, EventObject } from 'xstate';
import { ApprovalDesk } from '../ApprovalDesk.js';
import { ensureError, serializeError, SpineError, type FieldIssue } from '../errors.js';
import { describeIssues, eventIssues, initEvent, parseInput, RESERVED_EVENT, selfEvent } from '../machineInput.js';
import type { MachineVersion } from '../MachineRegistry.js';
import { ownValue } from '../names.js';
import { encodeSnapshotParts, type EncodedContext } from '../snapshotCodec.js';
import { riskPolicies, withConfidence } from '../riskPolicy.js';
import type { ActorRecord, NewAuditEntry, NewJob, OpenWork, StepCommit, StopActor } from '../Store.js';
import type { StepPlan } from './planStep.js';

/**
 * Everything a step's commit depends on besides the transition, read once by
 * `readStepInputs` before planning.
 */
export interface StepInputs {
  /** Active durable children of the actor, by child key -> actor id. */
  readonly children: ReadonlyMap<string, string>;
  /**
   * Every active actor in the subtrees this step may stop (under each child it stops;
   * under all of them when it finishes), by id, parents before their children: its
   * parent and the seq its stop is fenced by.
   */
  readonly descendants: ReadonlyMap<string, { readonly parentId: string; readonly seq: number }>;
  /** The open work of the actor (when it cancels an activity or finishes) and of every actor in `descendants`, by actor id. */
  readonly openWork: ReadonlyMap<string, OpenWork>;
  /** Actor ids (of the spawns this step may create) that already exist. */
  readonly takenIds: ReadonlySet<string>;
  /** The machine of each actor a send of this step may reach (absent: no such actor). */
  readonly machineOf: ReadonlyMap<string, string>;
  /** The actor's last journal entry, for the rationale of risky work this step requests. */
  readonly lastJournal: unknown;
}

/** What `transition()` produced for one mailbox event, sorted (or why it failed). */
export type StepResult =
  | { ok: true; next: AnyMachineSnapshot; plan: StepPlan }
  | { ok: false; error: Error; /** The snapshot to keep with the error (an initial step whose action threw keeps its state, as xstate does). */ snapshot?: AnyMachineSnapshot };

/** The one event a step consumes. */
export interface StepEvent {
  id: number;
  json: string;
  event: EventObject;
  /** Who sent it (the mailbox row's `source`), kept on its dead letter if the step ends without applying it. */
  source?: string;
  /**
   * The activity child whose job this step's own commit finishes (its result, applied directly):
   * once that commit is written the child has no open job, so stopping it cancels none.
   */
  finishes?: string;
}

/** What planning needs from the host, all pure look-ups. */
export interface PlanEnv {
  /** The version the actor runs on. */
  version: MachineVersion;
  /** The current version of a machine by name (for spawns); already saved by the registry. */
  machine(name: string): MachineVersion;
  hostId: string;
  /** When the step started (the time every row of the commit carries). */
  now: number;
  /** Time spent so far, for the history row. */
  durationUs: number;
  /**
   * The host that runs this step's jobs, if it will: they are written claimed by it (`running`,
   * their first attempt), so starting them needs no second transaction. Held (risky) jobs are
   * left for the usual claim.
   */
  claimer?: string;
}

/** A step's commit and what to do once it is committed. Frozen: nothing changes it afterwards. */
export interface PlannedStep {
  readonly commit: Readonly<StepCommit>;
  readonly seq: number;
  readonly emitted: readonly EventObject[];
  /** Whether the commit holds a high-risk approval: the run waits for a person. */
  readonly halts: boolean;
  /**
   * Events this step sent to its activity children (a callback's `receive`), delivered after
   * commit to the attempt running in this host; nothing is written for them (xstate keeps them in memory too).
   */
  readonly activityEvents: readonly { childId: string; event: EventObject }[];
  /** The context in `commit.snapshot`, as encoded there: a warm host reads it back from this, not from the whole text. */
  readonly context?: EncodedContext;
}

/**
 * Builds the whole commit of one step from the actor's record, the transition's
 * result and the inputs read for it: the snapshot and history row, then the
 * step's actions in xstate's order (children to create, jobs, timers and their
 * cancels, messages, stops), refused deliveries as dead letters, and when the
 * actor finishes, the message to its parent and the stop of its children.
 * Pure: it reads nothing and writes nothing.
 */
export function planCommit(record: ActorRecord, event: StepEvent, result: StepResult, inputs: StepInputs, env: PlanEnv): PlannedStep {
  const seq = record.seq + 1;
  const now = env.now;
  const commit: StepCommit = {
    actorId: record.id,
    expectedSeq: record.seq,
    eventId: event.id,
    snapshot: record.snapshot ?? 'null',
    stateValue: record.stateValue ?? 'null',
    status: 'active',
    output: null,
    error: null,
    history: { eventType: event.event.type, event: event.json, version: record.version, emitted: null, startedAt: now, durationUs: env.durationUs },
    ...emptyOutbox(),
  };
  let failure = result.ok ? undefined : result.error;
  let emitted: EventObject[] = [];
  let activityEvents: { childId: string; event: EventObject }[] = [];
  let context: EncodedContext | undefined;
  if (!result.ok && result.snapshot) {
    try {
      commit.snapshot = persisted(env, result.snapshot).text;
      commit.stateValue = JSON.stringify(result.snapshot.value);
    } catch {
      // Keep the stored snapshot: the failure is what this step records.
    }
  }
  if (result.ok) {
    const { next, plan } = result;
    try {
      const outbox = planOutbox(record, seq, plan, inputs, env, next, (activityEvents = []), event.finishes);
      Object.assign(commit, outbox);
      emitted = plan.emitted;
      if (emitted.length) commit.history.emitted = JSON.stringify(emitted);
      ({ text: commit.snapshot, context } = persisted(env, next));
      commit.stateValue = JSON.stringify(next.value);
      if (next.status === 'done') {
        commit.status = 'done';
        commit.output = JSON.stringify(next.output ?? null);
        const failed = failureFinalState(next);
        if (failed) {
          // A final state marked `meta.outcome: "failure"` ends the actor in error, output kept.
          commit.status = 'error';
          const reason = (next.output as { reason?: unknown } | undefined)?.reason;
          commit.error = typeof reason === 'string' && reason ? reason : `ended in final state '${failed}'`;
        }
      } else if (next.status === 'error') {
        failure = ensureError(next.error);
      }
    } catch (error) {
      // A plan that fails half-way writes none of what it planned.
      failure = ensureError(error);
      Object.assign(commit, emptyOutbox());
      emitted = [];
      commit.history.emitted = null;
      commit.snapshot = record.snapshot ?? 'null';
      commit.stateValue = record.stateValue ?? 'null';
      activityEvents = [];
      context = undefined;
    }
  }
  if (failure) {
    commit.status = 'error';
    commit.error = `${failure.message} (while applying '${event.event.type}' in state ${commit.stateValue})`;
  }
  if (commit.status !== 'active') {
    finish(record, commit, inputs, now, event.finishes);
    activityEvents = []; // its activities are stopped with it
  }
  const halts = Boolean(commit.approvals?.some((a) => a.tier === 'high'));
  return Object.freeze({ commit: frozenCommit(commit), seq, emitted: Object.freeze(emitted), halts, activityEvents: deepFreeze(activityEvents), ...(context ? { context } : {}) });
}

/**
 * The commit that ends a step whose planning or commit failed the same way twice: the
 * actor in `error` with the reason, its event consumed and dead-lettered with that
 * reason, its parent told and its children stopped.
 */
export function planEndedStep(record: ActorRecord, event: StepEvent, reason: string, inputs: StepInputs, env: PlanEnv): PlannedStep {
  const planned = planCommit(record, event, { ok: false, error: new Error(reason) }, inputs, env);
  const deadLetter = { actorId: record.id, event: event.json, reason, issues: null, source: event.source ?? record.id };
  return Object.freeze({ ...planned, commit: deepFreeze({ ...planned.commit, deadLetters: [...planned.commit.deadLetters, deadLetter] }) });
}

/** The persisted snapshot, encoded by the snapshot codec, or an error that says why the context cannot be stored. */
function persisted(env: PlanEnv, snapshot: AnyMachineSnapshot): { text: string; context?: EncodedContext } {
  try {
    return encodeSnapshotParts(env.version.machine.getPersistedSnapshot(snapshot));
  } catch (error) {
    if (error instanceof SpineError) throw error;
    const why = error instanceof RangeError ? 'it holds a cycle (an object that contains itself)' : ensureError(error).message;
    throw new SpineError('not_persistable', `The actor's snapshot cannot be stored: ${why}. Context must hold values a snapshot keeps: plain objects, arrays, strings, numbers, booleans, null, undefined and Date (no BigInt, class instances, functions or cycles).`);
  }
}

const NO_CHILDREN: ReadonlySet<string> = new Set();

function planOutbox(
  record: ActorRecord,
  seq: number,
  plan: StepPlan,
  inputs: StepInputs,
  env: PlanEnv,
  next: AnyMachineSnapshot,
  activityEvents: { childId: string; event: EventObject }[],
  finished: string | undefined,
): ReturnType<typeof emptyOutbox> {
  const out = emptyOutbox();
  const now = env.now;
  const children = new Map(inputs.children);
  const stopped = new Set<string>();
  for (const childId of plan.stopChildren) {
    const durable = children.get(childId);
    if (durable) {
      stopTree(out, durable, inputs, now);
      children.delete(childId);
    } else if (!stopped.has(childId)) {
      stopped.add(childId);
      // A child has one open job at most (each stop cancels it); the one whose result this commit applies is finished by it.
      if (childId !== finished) out.cancelJobs.push(childId);
      cancelApprovals(out, inputs.openWork.get(record.id), now, (a) => a.childId === childId);
    }
  }
  const spawnedMachine = new Map<string, string>();
  for (const spawn of plan.spawns) {
    let id = `${record.id}/${spawn.childKey}`;
    if (inputs.takenIds.has(id) || spawnedMachine.has(id)) id = `${id}~${seq}`;
    if (spawnedMachine.has(id)) id = `${id}.${spawn.index}`;
    const childVersion = env.machine(spawn.machine);
    try {
      if (childVersion.refusal) throw new SpineError('invalid_machine', childVersion.refusal, { machine: spawn.machine });
      const input = parseInput(childVersion.definition, spawn.input, spawn.machine);
      out.spawn.push({ id, runId: record.runId, parentId: record.id, childKey: spawn.childKey, machine: spawn.machine, version: childVersion.version, owner: env.hostId });
      out.messages.push(initEvent(id, input, now, record.id));
      children.set(spawn.childKey, id);
      spawnedMachine.set(id, spawn.machine);
    } catch (error) {
      const serialized = serializeError(error);
      out.deadLetters.push({ actorId: id, event: JSON.stringify({ type: 'xstate.init', input: spawn.input }), reason: serialized.message, issues: issuesJson(error), source: record.id });
      out.messages.push(selfEvent(record.id, { type: `xstate.error.actor.${spawn.childKey}`, error: serialized, actorId: spawn.childKey }, now));
    }
  }
  const policies = plan.jobs.length ? riskPolicies(env.version.machine) : undefined;
  for (const job of plan.jobs) {
    const activity = ownValue(env.version.definition.activities, job.src)!;
    let input = job.inputValue;
    if (activity.mapInput) input = activity.mapInput({ context: job.context ?? {}, event: job.event, input });
    const newJob: NewJob = { key: job.key, actorId: record.id, runId: record.runId, childId: job.childId, src: job.src, input: JSON.stringify(input ?? null), runAt: now };
    const policy = withConfidence(policies?.get(job.childId), job.context);
    if (policy && policy.tier !== 'low') {
      // Medium and high risk: the job is held, and the approval that releases it is written in this same commit.
      newJob.held = true;
      const rationale = ApprovalDesk.rationale({ policy, context: job.context, event: job.event.type, src: job.src, lastJournal: inputs.lastJournal });
      const { approval, audit } = ApprovalDesk.request({ job: newJob, machine: record.machine, version: record.version, seq, policy, rationale, now });
      out.approvals!.push(approval);
      out.audit!.push(...audit);
    } else if (env.claimer !== undefined) {
      newJob.claimedBy = env.claimer;
    }
    out.jobs.push(newJob);
  }
  for (const timer of plan.timers) {
    out.messages.push({ actorId: record.id, type: timer.type, event: timer.event, dueAt: timer.dueAt, sendId: timer.sendId ?? null, source: record.id });
  }
  out.cancelTimers.push(...plan.cancelTimers);
  // Activity children (only a send needs them): this step's jobs and every child of the snapshot that is not a durable actor (nor spawned as one now).
  const spawned = plan.sends.length ? new Set(plan.spawns.map((s) => s.childKey)) : undefined;
  const activityChildren: ReadonlySet<string> = spawned
    ? new Set([...plan.jobs.map((j) => j.childId), ...Object.keys(next.children ?? {}).filter((key) => !inputs.children.has(key) && !spawned.has(key))])
    : NO_CHILDREN;
  for (const send of plan.sends) {
    const dueAt = now + (send.delay ?? 0);
    const json = JSON.stringify(send.event);
    const to = send.to;
    const target = sendTarget(record, to, children);
    const childKey = typeof to === 'string' ? (children.has(to) ? to : undefined) : 'child' in to ? to.child : undefined;
    if (childKey !== undefined && activityChildren.has(childKey) && send.delay === undefined) {
      activityEvents.push({ childId: childKey, event: send.event });
      continue;
    }
    if (target === undefined || (childKey !== undefined && activityChildren.has(childKey))) {
      const reason =
        childKey !== undefined && activityChildren.has(childKey)
          ? `A delayed send to the activity child '${childKey}' of ${record.id} cannot be kept durably; send it without a delay.`
          : `No durable actor to receive '${send.event.type}' from ${record.id} (target ${JSON.stringify(to)}).`;
      out.deadLetters.push({ actorId: String(target ?? JSON.stringify(to)), event: json, reason, issues: null, source: record.id });
      out.messages.push(selfEvent(record.id, { type: 'spine.delivery.refused', to: JSON.stringify(to), eventType: send.event.type, reason }, now));
      continue;
    }
    const refused = refusal(record, target, send.event, spawnedMachine, inputs, env);
    if (refused) {
      const { reason, issues } = refused;
      out.deadLetters.push({ actorId: target, event: json, reason, issues: issues.length ? JSON.stringify(issues) : null, source: record.id });
      out.messages.push(selfEvent(record.id, { type: 'spine.delivery.refused', to: target, eventType: send.event.type, reason, issues }, now));
      continue;
    }
    out.messages.push({ actorId: target, type: send.event.type, event: json, dueAt, sendId: send.sendId, source: record.id });
  }
  return out;
}

/** The durable id a send reaches: an actor id, a child key of the sender, the sender itself or its parent. */
export function sendTarget(record: Pick<ActorRecord, 'id' | 'parentId'>, to: StepPlan['sends'][number]['to'], children: ReadonlyMap<string, string>): string | undefined {
  if (typeof to === 'string') return children.get(to) ?? to;
  if ('self' in to) return record.id;
  if ('parent' in to) return record.parentId ?? undefined;
  if ('child' in to) return children.get(to.child);
  return undefined;
}

function refusal(
  record: ActorRecord,
  target: string,
  event: EventObject,
  spawned: ReadonlyMap<string, string>,
  inputs: StepInputs,
  env: PlanEnv,
): { reason: string; issues: FieldIssue[] } | undefined {
  if (target === record.id) return undefined;
  const machineName = spawned.get(target) ?? inputs.machineOf.get(target);
  if (!machineName) return { reason: `No actor with id '${target}'.`, issues: [] };
  if (RESERVED_EVENT.test(event.type)) return undefined;
  const issues = eventIssues(env.machine(machineName).definition, event);
  return issues.length ? { reason: describeIssues(machineName, event.type, issues), issues } : undefined;
}

/**
 * When an actor finishes, its parent learns in the same commit, every open job of it is
 * cancelled with its pending approvals, its delayed sends die with it (stored ones and
 * those this step planned), and every child stops with its whole subtree.
 */
function finish(record: ActorRecord, commit: StepCommit, inputs: StepInputs, now: number, finished: string | undefined): void {
  const own = inputs.openWork.get(record.id);
  // The job whose result this commit applies is finished by it: there is nothing of that child left to cancel.
  for (const job of own?.jobs ?? []) if (job.childId !== finished && !commit.cancelJobs.includes(job.childId)) commit.cancelJobs.push(job.childId);
  cancelApprovals(commit, own, now, () => true);
  // As xstate cancels a stopped actor's scheduled events.
  for (const sendId of own?.timers ?? []) if (!commit.cancelTimers.includes(sendId)) commit.cancelTimers.push(sendId);
  commit.messages = commit.messages.filter((message) => !(message.sendId && message.dueAt > now));
  for (const child of inputs.children.values()) stopTree(commit, child, inputs, now);
  if (!record.parentId || !record.childKey) return;
  const event =
    commit.status === 'done'
      ? { type: `xstate.done.actor.${record.childKey}`, output: commit.output === null ? undefined : JSON.parse(commit.output), actorId: record.childKey }
      : { type: `xstate.error.actor.${record.childKey}`, error: { name: 'ActorError', message: commit.error ?? 'failed' }, actorId: record.childKey };
  commit.messages.push({ actorId: record.parentId, type: event.type, event: JSON.stringify(event), dueAt: now, source: record.id });
}

/**
 * Stops a durable actor and every active actor below it, parents first: each fenced by
 * the seq that was read, its open jobs cancelled, its pending approvals cancelled with
 * their audit rows. An actor already listed is skipped.
 */
function stopTree(out: Outbox, id: string, inputs: StepInputs, now: number): void {
  const read = inputs.descendants.get(id);
  if (!read) throw new Error(`The step stops actor '${id}', whose subtree was not read (readStepInputs reads it for every child a step stops).`);
  if (out.stop.some((s) => s.id === id)) return;
  const work = inputs.openWork.get(id);
  const stop: StopActor = { id, expectedSeq: read.seq, cancelJobs: [...new Set((work?.jobs ?? []).map((j) => j.childId))] };
  out.stop.push(stop);
  cancelApprovals(out, work, now, () => true);
  for (const [childId, child] of inputs.descendants) if (child.parentId === id) stopTree(out, childId, inputs, now);
}

/** Cancels the pending approvals of `work` that `which` picks, each with its `approval.cancelled` audit row. */
function cancelApprovals(out: Pick<Outbox, 'cancelApprovals' | 'audit'>, work: OpenWork | undefined, now: number, which: (approval: OpenWork['approvals'][number]) => boolean): void {
  for (const approval of work?.approvals ?? []) {
    if (!which(approval) || out.cancelApprovals!.includes(approval.id)) continue;
    out.cancelApprovals!.push(approval.id);
    out.audit!.push(approvalCancelled(work!.actorId, approval, now));
  }
}

/** The audit row of an approval cancelled because its work was (its state was left, its actor finished or stopped). */
export function approvalCancelled(actorId: string, approval: OpenWork['approvals'][number], now: number): NewAuditEntry {
  const reason = 'the work was cancelled before anyone decided (its state was left or its actor stopped)';
  return { at: now, runId: approval.runId, actorId, kind: 'approval.cancelled', who: 'system', subject: approval.id, detail: JSON.stringify({ src: approval.src, jobKey: approval.jobKey, reason }) };
}

type Outbox = Pick<StepCommit, 'messages' | 'cancelTimers' | 'jobs' | 'cancelJobs' | 'spawn' | 'stop' | 'deadLetters' | 'approvals' | 'cancelApprovals' | 'audit'>;

/** What a step causes, before anything is planned: written with the snapshot in one commit. */
function emptyOutbox(): Outbox {
  return { messages: [], cancelTimers: [], jobs: [], cancelJobs: [], spawn: [], stop: [], deadLetters: [], approvals: [], cancelApprovals: [], audit: [] };
}

/** The key of the final state reached, if it is marked `meta: { outcome: 'failure' }`. */
function failureFinalState(snapshot: AnyMachineSnapshot): string | undefined {
  for (const [id, meta] of Object.entries(snapshot.getMeta() as Record<string, { outcome?: unknown } | undefined>)) {
    if (meta?.outcome === 'failure') return id.split('.').pop();
  }
  return undefined;
}

function issuesJson(error: unknown): string | null {
  return SpineError.is(error) && error.issues?.length ? JSON.stringify(error.issues) : null;
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  if (Array.isArray(value)) for (const item of value) deepFreeze(item);
  else for (const key in value) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
}

/**
 * The commit, its empty lists (most of them, most steps) replaced by one shared frozen empty list,
 * frozen all the way down: its history and each list by name, the items of a list walked (the rest
 * of a commit is strings, numbers and null, which a walk of every key would only look at).
 */
function frozenCommit(commit: StepCommit): Readonly<StepCommit> {
  const lists = commit as unknown as Record<string, readonly unknown[] | undefined>;
  for (const key of OUTBOX_KEYS) {
    const list = lists[key];
    if (list?.length === 0) lists[key] = NOTHING;
    else if (list) deepFreeze(list);
  }
  Object.freeze(commit.history);
  return Object.freeze(commit);
}

const NOTHING: readonly never[] = Object.freeze([]);
const OUTBOX_KEYS = Object.keys(emptyOutbox());
