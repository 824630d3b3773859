import { describe, expect, it } from 'vitest';
import type { MachineConfigJson } from '../defineMachine.js';
import type { ActorRecord, HistoryRow, JobRecord } from '../Store.js';
import { planFork, type ForkInputs } from './planFork.js';

const T = 1_700_000_000_000;
const config = {
  id: 'writer',
  initial: 'drafting',
  states: {
    drafting: { invoke: { id: 'draft', src: 'draft', onDone: 'reviewing' } },
    reviewing: { after: { 5000: 'drafting' }, invoke: { id: 'publish', src: 'publish', onDone: 'done' } },
    done: { type: 'final' },
  },
} as unknown as MachineConfigJson;

function snapshot(value: string, children: Record<string, unknown> = {}): string {
  return JSON.stringify({ status: 'active', value, context: { topic: 'x' }, children });
}

function row(seq: number, eventType: string, value: string, children: Record<string, unknown> = {}): HistoryRow {
  return { rowId: seq * 10, actorId: 'run-1', runId: 'run-1', seq, eventType, event: JSON.stringify({ type: eventType }), stateValue: JSON.stringify(value), snapshot: snapshot(value, children), status: 'active', version: 'v1', emitted: null, startedAt: T + seq * 1000, durationUs: 5 };
}

function job(key: string, fields: Partial<JobRecord>): JobRecord {
  return { key, actorId: 'run-1', runId: 'run-1', childId: 'draft', src: 'draft', input: '{"about":"run-1"}', status: 'done', attempts: 1, runAt: T, owner: null, output: '"text"', error: null, journal: '[]', createdAt: T, startedAt: T, finishedAt: T, ...fields };
}

const root: ActorRecord = { id: 'run-1', runId: 'run-1', parentId: null, childKey: null, machine: 'writer', version: 'v1', seq: 4, status: 'active', snapshot: null, stateValue: null, output: null, error: null, owner: null, ownerEpoch: 0, createdAt: T, updatedAt: T };

/** A writer run: step 1 invoked `draft` (paid $0.25, done at T+1500), step 2 applied it and invoked `publish`, which failed once ($0.5, ended T+2500) and was in flight at step 3; step 4 came after the point. */
function inputs(atSeq = 3, journals: { draft?: unknown[]; publish?: unknown[] } = {}): ForkInputs {
  const rows = [
    row(1, 'xstate.init', 'drafting', { draft: { src: 'draft' } }),
    row(2, 'xstate.done.actor.draft', 'reviewing', { publish: { src: 'publish' } }),
    row(3, 'note', 'reviewing', { publish: { src: 'publish' } }),
    row(4, 'xstate.done.actor.publish', 'done'),
  ];
  return {
    sourceRunId: 'run-1',
    point: { actorId: 'run-1', seq: atSeq, row: rows[atSeq - 1]! },
    rows: rows.slice(0, atSeq),
    actors: [root],
    jobs: [
      job('run-1:1:0', { finishedAt: T + 1500, journal: JSON.stringify(journals.draft ?? [{ attempt: 1, model: 'gpt', costUsd: 0.25, usage: { inputTokens: 10, outputTokens: 5 }, startedAt: T + 1100, durationMs: 400 }]) }),
      job('run-1:2:0', {
        childId: 'publish',
        src: 'publish',
        status: 'done',
        attempts: 2,
        finishedAt: T + 3500,
        journal: JSON.stringify(journals.publish ?? [
          { attempt: 1, model: 'gpt', costUsd: 0.5, outcome: 'retry', startedAt: T + 2100, durationMs: 400 },
          { attempt: 2, model: 'gpt', costUsd: 0.5, startedAt: T + 3100, durationMs: 400 },
        ]),
      }),
    ],
    approvals: [],
    configs: new Map([['writer@v1', config]]),
    initEvents: new Map(),
  };
}

describe('planFork', () => {
  it('copies the history up to the point under the new run id, marks the fork, and requests the work in flight again', () => {
    const fork = planFork(inputs(), { newRunId: 'fork-1', now: T + 10_000, by: 'ana' });
    expect(fork.history.map((h) => [h.actorId, h.seq, h.eventType])).toEqual([
      ['fork-1', 1, 'xstate.init'],
      ['fork-1', 2, 'xstate.done.actor.draft'],
      ['fork-1', 3, 'note'],
      ['fork-1', 4, 'spine.run.forked'],
    ]);
    expect(fork.history.every((h) => !('rowId' in h))).toBe(true);
    expect(fork.actors).toEqual([expect.objectContaining({ id: 'fork-1', seq: 4, stateValue: '"reviewing"' })]);
    expect(fork.jobs).toEqual([{ key: 'fork-1:3:fork0', actorId: 'fork-1', runId: 'fork-1', childId: 'publish', src: 'publish', input: '{"about":"fork-1"}', runAt: T + 10_000 }]);
    expect(fork.events.map((e) => [e.type, e.dueAt])).toEqual([['xstate.after.5000.writer.reviewing', T + 15_000]]);
    expect(fork.audit.map((a) => [a.kind, a.who])).toEqual([['run.forked', 'ana']]);
  });

  it('carries the journals its prefix paid for, marked inherited: finished work whole, work in flight only the attempts that ended', () => {
    const fork = planFork(inputs(), { newRunId: 'fork-1', now: T + 10_000 });
    expect(fork.inheritedJobs.map((j) => [j.key, j.status, j.attempts, j.output])).toEqual([
      ['fork-1:1:0', 'done', 1, '"text"'],
      ['fork-1:2:0', 'cancelled', 1, null],
    ]);
    const [draft, publish] = fork.inheritedJobs.map((j) => JSON.parse(j.journal) as Record<string, unknown>[]);
    expect(draft).toEqual([expect.objectContaining({ costUsd: 0.25, inherited: { runId: 'run-1', jobKey: 'run-1:1:0' } })]);
    // The second attempt of `publish` ended after the point: the fork pays for its own.
    expect(publish).toEqual([expect.objectContaining({ attempt: 1, costUsd: 0.5, inherited: { runId: 'run-1', jobKey: 'run-1:2:0' } })]);
    expect(fork.inheritedJobs[1]!.finishedAt).toBe(T + 3000);
  });

  it('inherits nothing requested after the point, and keeps the run that paid when the source was itself a fork', () => {
    expect(planFork(inputs(1), { newRunId: 'fork-1', now: T }).inheritedJobs).toEqual([]);
    const paidBy = { runId: 'run-0', jobKey: 'run-0:1:0' };
    const fork = planFork(inputs(3, { draft: [{ attempt: 1, costUsd: 0.25, startedAt: T, durationMs: 1, inherited: paidBy }] }), { newRunId: 'fork-2', now: T });
    expect(JSON.parse(fork.inheritedJobs[0]!.journal)).toEqual([expect.objectContaining({ inherited: paidBy })]);
  });

  it('edits the forked actor context at the point as its own step, and refuses a root that had not started', () => {
    const fork = planFork(inputs(), { newRunId: 'fork-1', now: T, context: { topic: 'y' } });
    expect(fork.history.at(-2)).toMatchObject({ eventType: 'spine.context.edited', seq: 4 });
    expect(JSON.parse(fork.actors[0]!.snapshot!).context).toEqual({ topic: 'y' });
    const unstarted = { ...inputs(), rows: [], actors: [root] };
    expect(() => planFork(unstarted, { newRunId: 'fork-1', now: T })).toThrow(/had not started/);
  });
});
