import { expect } from 'vitest';
import type { NewApproval, NewAuditEntry, NewJob, RunFork, StepCommit, Store } from '../../Store.js';

/** A fixed time every contract row is written at (or after). */
export const T0 = 1_700_000_000_000;

// ---- building runs through the Store contract -------------------------------------

export async function startRun(store: Store, runId: string): Promise<void> {
  const created = await store.createActors([{ id: runId, runId, parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null }], [
    { actorId: runId, type: 'xstate.init', event: '{"type":"xstate.init","input":{}}', dueAt: T0, source: 'external' },
  ]);
  // What createActors answers is the row as written and the event's id (a host steps a new run from them without reading either back).
  const [init] = await store.nextEvents(runId, T0, 10);
  expect(created).toEqual({ actors: [await store.getActor(runId)], eventIds: [init!.id] });
}

/**
 * Registers live hosts (a `hosts` row with a lease of ten minutes): a claim never takes work from a
 * live host, while an owner with no row may be taken over at once.
 */
export async function registerHosts(store: Store, ...ids: string[]): Promise<void> {
  for (const id of ids) await store.heartbeat({ id, hostname: `machine-${id}`, pid: 1, startedAt: T0, heartbeatAt: Date.now() }, 600_000);
}

/** Commits the actor's next step on its oldest event (enqueuing one when the mailbox is empty). */
export async function step(store: Store, actorId: string, extra: Partial<StepCommit> = {}): Promise<void> {
  const actor = (await store.getActor(actorId))!;
  let [event] = await store.nextEvents(actorId, Number.MAX_SAFE_INTEGER, 1);
  if (!event) {
    await store.enqueue([{ actorId, type: 'go', event: '{"type":"go"}', dueAt: T0, source: 'external' }]);
    [event] = await store.nextEvents(actorId, Number.MAX_SAFE_INTEGER, 1);
  }
  const result = await store.commitStep({ ...commitOf(actorId, actor.seq, event!.id, event!.type), ...extra });
  expect(result).toEqual({ ok: true });
}

export function commitOf(actorId: string, expectedSeq: number, eventId: number, eventType = 'go'): StepCommit {
  const state = `s${expectedSeq + 1}`;
  return {
    actorId,
    expectedSeq,
    eventId,
    snapshot: JSON.stringify({ status: 'active', value: state, context: {}, children: {} }),
    stateValue: JSON.stringify(state),
    status: 'active',
    output: null,
    error: null,
    history: { eventType, event: JSON.stringify({ type: eventType }), version: 'v1', emitted: null, startedAt: T0 + expectedSeq, durationUs: 5 },
    messages: [],
    cancelTimers: [],
    jobs: [],
    cancelJobs: [],
    spawn: [],
    stop: [],
    deadLetters: [],
    approvals: [],
    cancelApprovals: [],
    audit: [],
  };
}

export function job(actorId: string, seq: number, src: string, options: { index?: number; held?: boolean; runAt?: number } = {}): NewJob {
  return { key: `${actorId}:${seq}:${options.index ?? 0}`, actorId, runId: actorId.split('/')[0]!, childId: src, src, input: '{"title":"t"}', runAt: options.runAt ?? T0, held: options.held ?? false };
}

export function approvalFor(j: NewJob): NewApproval {
  return {
    id: `approval:${j.key}`,
    runId: j.runId,
    actorId: j.actorId,
    jobKey: j.key,
    childId: j.childId,
    src: j.src,
    machine: 'm',
    version: 'v1',
    seq: Number(j.key.split(':').at(-2)),
    tier: 'medium',
    proposal: j.input,
    rationale: '{}',
    requestedAt: T0,
    deadlineAt: null,
    onDeadline: 'escalate',
  };
}

export function requested(j: NewJob): NewAuditEntry {
  return { at: T0, runId: j.runId, actorId: j.actorId, kind: 'approval.requested', who: 'agent:m', subject: `approval:${j.key}`, detail: '{}' };
}

export function doneEvent(actorId: string, childId: string) {
  return { actorId, type: `xstate.done.actor.${childId}`, event: JSON.stringify({ type: `xstate.done.actor.${childId}` }), dueAt: T0, source: 'activity' };
}

/** A fork as `planFork` makes one: a started root (with the marker step), a child not started yet, a timer, a held and a pending job, a finished job inherited with its cost. */
export function forkOf(runId: string): RunFork {
  const snapshot = JSON.stringify({ status: 'active', value: 'waiting', context: {}, children: {} });
  const history = (seq: number, eventType: string) => ({ actorId: runId, runId, seq, eventType, event: JSON.stringify({ type: eventType }), stateValue: '"waiting"', snapshot, status: 'active' as const, version: 'v1', emitted: null, startedAt: T0 + seq, durationUs: 0 });
  const held = { ...job(runId, 1, 'publish', { held: true }), key: `${runId}:1:fork0` };
  const pending = { ...job(runId, 1, 'lookup'), key: `${runId}:1:fork1` };
  const at = T0 + 500;
  return {
    sourceRunId: 'source',
    runId,
    point: { actorId: 'source', seq: 1, rowId: 1 },
    at,
    actors: [
      { id: runId, runId, parentId: null, childKey: null, machine: 'm', version: 'v1', seq: 2, status: 'active', snapshot, stateValue: '"waiting"', output: null, error: null },
      { id: `${runId}/child`, runId, parentId: runId, childKey: 'child', machine: 'm', version: 'v1', seq: 0, status: 'active', snapshot: null, stateValue: null, output: null, error: null },
    ],
    history: [history(1, 'xstate.init'), history(2, 'spine.run.forked')],
    events: [
      { actorId: `${runId}/child`, type: 'xstate.init', event: '{"type":"xstate.init","input":{}}', dueAt: at, source: runId },
      { actorId: runId, type: 'xstate.after.1000.m.waiting', event: '{"type":"xstate.after.1000.m.waiting"}', dueAt: at + 1000, sendId: 'xstate.after.1000.m.waiting', source: runId },
    ],
    jobs: [held, pending],
    approvals: [{ ...approvalFor(held), requestedAt: at }],
    inheritedJobs: [
      {
        key: `${runId}:1:0`,
        actorId: runId,
        runId,
        childId: 'draft',
        src: 'draft',
        input: '{"title":"t"}',
        runAt: T0,
        status: 'done',
        attempts: 1,
        output: '"a draft"',
        error: null,
        journal: JSON.stringify([{ attempt: 1, model: 'm', costUsd: 0.25, inherited: { runId: 'source', jobKey: 'source:1:0' } }]),
        createdAt: T0,
        startedAt: T0 + 1,
        finishedAt: T0 + 2,
      },
    ],
    audit: [
      { at, runId, actorId: runId, kind: 'run.forked', who: 'studio', subject: runId, detail: '{}' },
      { ...requested(held), at },
    ],
    notes: [],
  };
}
