import { describe, expect, it } from 'vitest';
import { planRunStop } from '../../control/planRunStop.js';
import { SpineError } from '../../errors.js';
import type { Store } from '../../Store.js';
import { approvalFor, commitOf, doneEvent, forkOf, job, requested, startRun, step, T0 } from './build.js';
import { runApprovalContract } from './approvals.js';
import { runAuditContract } from './audit.js';
import { runGroupCommitContract } from './groupCommit.js';
import { runHostContract } from './host.js';
import { runLeaseContract } from './leases.js';
import { runRunControlContract } from './runControl.js';

/** Opens a fresh, empty store for one test; the suite closes it. */
export type MakeStore = () => Promise<Store>;

/** Runs one test against a fresh store and closes it. */
export type WithStore = (test: (store: Store) => Promise<void>) => Promise<void>;


/**
 * The behaviour every Store must share, run against a store factory (hono's
 * `router/common.case.test.ts`, drizzle's `sqlite-common.ts`, LangGraph's
 * checkpoint-validation spec): one file per role (`host.ts`, `leases.ts`, `runControl.ts`,
 * `approvals.ts`, `audit.ts`, and the history reads, fork, stop and reschedule
 * here), every Store method exercised through Store methods only, so
 * SqliteStore and PostgresStore run the same suite.
 *
 * @example
 * // packages/store-sqlite/src/SqliteStore.test.ts
 * runStoreContract(() => SqliteStore.open(tempDbPath()));
 */
export function runStoreContract(makeStore: MakeStore): void {
  async function withStore(test: (store: Store) => Promise<void>): Promise<void> {
    const store = await makeStore();
    try {
      await test(store);
    } finally {
      await store.close();
    }
  }
  // One file per role of the Store (see Store.ts): host, history readers, run control, approvals, audit.
  runHostContract(withStore);
  runLeaseContract(withStore);
  runGroupCommitContract(withStore);
  runRunControlContract(withStore);
  runApprovalContract(withStore);
  runAuditContract(withStore);

  describe('Store contract: history reads', () => {
    it('reads a run in commit order with row ids, a window of the latest rows up to a row, one step by actor and seq, and the head', () =>
      withStore(async (store) => {
        expect(await store.historyHead()).toBe(0);
        await startRun(store, 'run-a');
        await startRun(store, 'run-b');
        for (let i = 0; i < 3; i++) {
          await step(store, 'run-a');
          await step(store, 'run-b');
        }
        const all = await store.runHistory('run-a');
        expect(all.map((r) => r.seq)).toEqual([1, 2, 3]);
        expect(all.every((r) => r.runId === 'run-a' && Number.isInteger(r.rowId))).toBe(true);
        expect(all.map((r) => r.rowId)).toEqual([...all.map((r) => r.rowId)].sort((a, b) => a - b));

        const upTo = await store.runHistory('run-a', { upToRowId: all[1]!.rowId });
        expect(upTo.map((r) => r.seq)).toEqual([1, 2]);
        const latest = await store.runHistory('run-a', { limit: 2 });
        expect(latest.map((r) => r.seq)).toEqual([2, 3]);
        expect((await store.runHistory('run-a', { upToRowId: all[2]!.rowId, limit: 1 })).map((r) => r.seq)).toEqual([3]);

        const firstPage = await store.runHistory('run-a', { afterRowId: 0, limit: 2 });
        expect(firstPage.map((r) => r.seq)).toEqual([1, 2]);
        expect((await store.runHistory('run-a', { afterRowId: firstPage[1]!.rowId, limit: 2 })).map((r) => r.seq)).toEqual([3]);
        expect(await store.runHistory('run-a', { afterRowId: all[2]!.rowId, limit: 2 })).toEqual([]);

        const second = await store.historyRow('run-a', 2);
        expect(second).toEqual(all[1]);
        expect(await store.historyRow('run-a', 9)).toBeUndefined();

        const head = await store.historyHead();
        const tail = await store.historySince(0, 100);
        expect(tail).toHaveLength(6);
        expect(head).toBe(tail.at(-1)!.rowId);
      }));

    it("counts a run's steps (also up to a row) and actors, with its latest change, and lists only journals that have entries", () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        await step(store, 'run-a', { jobs: [job('run-a', 1, 'work')] });
        await step(store, 'run-a', { jobs: [job('run-a', 2, 'idle')] });
        const claimed = await store.claimJob('run-a:1:0', 'host-1', T0 + 10, []);
        expect(claimed?.status).toBe('running');
        const journal = JSON.stringify([{ attempt: 1, model: 'm', usage: { inputTokens: 3, outputTokens: 1 } }]);
        await store.completeJob({ key: 'run-a:1:0', owner: 'host-1', status: 'done', output: '1', error: null, journal, event: doneEvent('run-a', 'work') });

        const rows = await store.runHistory('run-a');
        expect(await store.runStats('run-a')).toMatchObject({ steps: 2, actors: 1 });
        expect((await store.runStats('run-a', { upToRowId: rows[0]!.rowId })).steps).toBe(1);
        expect((await store.runStats('run-a')).updatedAt).toBeGreaterThanOrEqual(T0);
        expect(await store.runStats('nothing')).toEqual({ steps: 0, actors: 0, updatedAt: undefined });
        expect(await store.runJournals('run-a')).toEqual([{ key: 'run-a:1:0', actorId: 'run-a', src: 'work', journal }]);
      }));
  });

  describe('Store contract: forkRun', () => {
    it('writes the forked actors, copied history, events, held jobs with their approvals and the audit rows together', () =>
      withStore(async (store) => {
        const fork = forkOf('fork-1');
        await store.forkRun(fork);

        expect(await store.getActor('fork-1')).toMatchObject({ runId: 'fork-1', seq: 2, status: 'active', stateValue: '"waiting"', owner: null, createdAt: fork.at });
        expect(await store.getActor('fork-1/child')).toMatchObject({ parentId: 'fork-1', childKey: 'child', seq: 0, snapshot: null });
        const history = await store.runHistory('fork-1');
        expect(history.map((h) => [h.actorId, h.seq, h.eventType])).toEqual([
          ['fork-1', 1, 'xstate.init'],
          ['fork-1', 2, 'spine.run.forked'],
        ]);
        expect((await store.nextEvents('fork-1/child', Number.MAX_SAFE_INTEGER, 10)).map((e) => e.type)).toEqual(['xstate.init']);
        expect((await store.nextEvents('fork-1', Number.MAX_SAFE_INTEGER, 10)).map((e) => e.sendId)).toEqual(['xstate.after.1000.m.waiting']);

        expect(await store.getJob('fork-1:1:fork0')).toMatchObject({ status: 'held', src: 'publish', attempts: 0 });
        expect(await store.getJob('fork-1:1:fork1')).toMatchObject({ status: 'pending', src: 'lookup' });
        // Finished work of the prefix keeps its status, result and journal (what it paid, marked inherited).
        const inherited = fork.inheritedJobs[0]!;
        expect(await store.getJob(inherited.key)).toEqual({ ...inherited, owner: null });
        expect(await store.runJournals('fork-1')).toEqual([{ key: inherited.key, actorId: 'fork-1', src: 'draft', journal: inherited.journal }]);
        const [approval] = await store.listApprovals({ runId: 'fork-1', status: ['pending'] });
        expect(approval).toMatchObject({ id: 'approval:fork-1:1:fork0', jobKey: 'fork-1:1:fork0', status: 'pending', tier: 'medium' });
        expect((await store.listAudit({ runId: 'fork-1' })).map((a) => a.kind)).toEqual(['run.forked', 'approval.requested']);
        expect(await store.verifyAudit()).toMatchObject({ ok: true });

        // A held job is not runnable; its pending sibling is.
        const { jobs } = await store.runnable(T0 + 1_000, 'host-1', [], 100);
        expect(jobs.map((j) => j.key)).toEqual(['fork-1:1:fork1']);
        expect(await store.claimJob('fork-1:1:fork0', 'host-1', T0 + 1_000, [])).toBeUndefined();
      }));

    it('rolls a fork back whole when its last write fails: no actor, history row, job or audit row of it remains', () =>
      withStore(async (store) => {
        const at = T0;
        const snapshot = JSON.stringify({ status: 'active', value: 'a', context: {}, children: {} });
        const approval = { id: 'approval:f:1:fork0', runId: 'f', actorId: 'f', jobKey: 'f:1:fork0', childId: 'p', src: 'p', machine: 'm', version: 'v1', seq: 1, tier: 'medium' as const, proposal: '{}', rationale: '{}', requestedAt: at, deadlineAt: null, onDeadline: 'escalate' as const };
        const write = store.forkRun({
          sourceRunId: 's',
          runId: 'f',
          point: { actorId: 's', seq: 1, rowId: 1 },
          at,
          actors: [{ id: 'f', runId: 'f', parentId: null, childKey: null, machine: 'm', version: 'v1', seq: 1, status: 'active', snapshot, stateValue: '"a"', output: null, error: null }],
          history: [{ actorId: 'f', runId: 'f', seq: 1, eventType: 'xstate.init', event: '{}', stateValue: '"a"', snapshot, status: 'active', version: 'v1', emitted: null, startedAt: at, durationUs: 0 }],
          events: [],
          jobs: [{ key: 'f:1:fork0', actorId: 'f', runId: 'f', childId: 'p', src: 'p', input: '{}', runAt: at, held: true }],
          // The same approval twice: the second insert fails (the engine's unique-key error) after everything else was written.
          approvals: [approval, approval],
          inheritedJobs: [],
          audit: [{ at, runId: 'f', actorId: 'f', kind: 'run.forked', who: 'studio', subject: 'f', detail: '{}' }],
          notes: [],
        });
        await expect(write).rejects.toThrow(/UNIQUE|duplicate key/);
        expect(await store.getActor('f')).toBeUndefined();
        expect(await store.historyHead()).toBe(0);
        expect(await store.listJobs({ runId: 'f' })).toEqual([]);
        expect(await store.listAudit()).toEqual([]);
        expect(await store.verifyAudit()).toMatchObject({ ok: true, rows: 0 });
      }));

    it('refuses a fork onto an actor id that exists and writes nothing of it', () =>
      withStore(async (store) => {
        await startRun(store, 'fork-1/child');
        const refused = await store.forkRun(forkOf('fork-1')).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(SpineError);
        expect((refused as SpineError).code).toBe('conflict');
        expect(await store.getActor('fork-1')).toBeUndefined();
        expect(await store.runHistory('fork-1')).toEqual([]);
        expect(await store.listJobs({ runId: 'fork-1' })).toEqual([]);
        expect(await store.listApprovals({ runId: 'fork-1' })).toEqual([]);
        expect(await store.listAudit({ runId: 'fork-1' })).toEqual([]);
      }));
  });

  describe('Store contract: stopRun', () => {
    /** The run's stop as `planRunStop` plans it from what the store says now. */
    async function stopOf(store: Store, runId: string, options: { reason: string; now: number; by?: string }) {
      const [actors, approvals] = await Promise.all([store.listActors({ runId, status: ['active'] }), store.listApprovals({ runId, status: ['pending'] })]);
      return planRunStop({ runId, actors, approvals }, options);
    }

    it('stops every active actor with a fenced step, cancels its jobs and pending approvals, dead-letters its mailbox and audits who stopped it', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        const held = job('run-a', 1, 'publish', { held: true });
        await step(store, 'run-a', { jobs: [held, job('run-a', 1, 'lookup', { index: 1 })], approvals: [approvalFor(held)], audit: [requested(held)] });
        await store.claimJob('run-a:1:1', 'host-1', T0 + 10, []);
        await store.enqueue([{ actorId: 'run-a', type: 'later', event: '{"type":"later"}', dueAt: T0 + 60_000, source: 'external' }]);
        await store.createActors([{ id: 'run-a/kid', runId: 'run-a', parentId: 'run-a', childKey: 'kid', machine: 'm', version: 'v1', owner: null }], []);

        const stop = (await stopOf(store, 'run-a', { reason: 'not needed', now: T0 + 100, by: 'ada' }))!;
        expect(stop.actors.map((a) => a.actorId).sort()).toEqual(['run-a', 'run-a/kid']);
        expect(await store.stopRun(stop)).toBe(true);

        expect(await store.getActor('run-a')).toMatchObject({ status: 'stopped', seq: 2 });
        expect(await store.getActor('run-a/kid')).toMatchObject({ status: 'stopped', seq: 0 });
        expect(await store.historyRow('run-a', 2)).toMatchObject({ eventType: 'spine.run.cancelled', status: 'stopped' });
        expect((await store.listJobs({ runId: 'run-a' })).map((j) => [j.key, j.status])).toEqual([
          ['run-a:1:0', 'cancelled'],
          ['run-a:1:1', 'cancelled'],
        ]);
        expect(await store.getApproval(`approval:${held.key}`)).toMatchObject({ status: 'cancelled' });
        expect(await store.listApprovals({ status: ['pending'] })).toEqual([]);
        const audit = await store.listAudit({ runId: 'run-a' });
        expect(audit.map((a) => [a.kind, a.who])).toEqual([
          ['approval.requested', 'agent:m'],
          ['approval.cancelled', 'ada'],
          ['run.cancelled', 'ada'],
        ]);
        expect(JSON.parse(audit[2]!.detail)).toMatchObject({ reason: 'not needed' });
        expect(await store.verifyAudit()).toMatchObject({ ok: true });
        expect(await store.nextEvents('run-a', Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
        expect((await store.listDeadLetters('run-a')).map((l) => [JSON.parse(l.event).type, l.reason])).toEqual([['later', stop.deadLetterReason]]);

        // A host that still holds the old seq cannot commit over the stop.
        const [eventId] = await store.enqueue([{ actorId: 'run-a', type: 'go', event: '{"type":"go"}', dueAt: T0, source: 'external' }]);
        expect(await store.commitStep(commitOf('run-a', 1, eventId!))).toEqual({ ok: false, reason: 'conflict' });

        // Stopping again has nothing to plan; the old plan is refused and writes nothing.
        expect(await stopOf(store, 'run-a', { reason: 'again', now: T0 + 200 })).toBeUndefined();
        expect(await store.stopRun(stop)).toBe(false);
        expect(await store.listAudit({ runId: 'run-a' })).toHaveLength(3);
      }));

    it('refuses a stop whose actor took a step, or whose approval was decided, after it was read, and writes nothing of it', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        const held = job('run-a', 1, 'publish', { held: true });
        await step(store, 'run-a', { jobs: [held], approvals: [approvalFor(held)], audit: [requested(held)] });
        const stale = (await stopOf(store, 'run-a', { reason: 'late', now: T0 + 100 }))!;
        await step(store, 'run-a');
        expect(await store.stopRun(stale)).toBe(false);
        expect(await store.getActor('run-a')).toMatchObject({ status: 'active', seq: 2 });
        expect(await store.getApproval(`approval:${held.key}`)).toMatchObject({ status: 'pending' });

        const decidedMeanwhile = (await stopOf(store, 'run-a', { reason: 'late', now: T0 + 100 }))!;
        expect(await store.resolveApproval({ approvalId: `approval:${held.key}`, outcome: 'approved', decidedBy: 'ada', decidedAt: T0 + 50, jobInput: held.input, audit: [], now: T0 + 50 })).toBe(true);
        expect(await store.stopRun(decidedMeanwhile)).toBe(false);
        expect(await store.getActor('run-a')).toMatchObject({ status: 'active', seq: 2 });
        expect(await store.getJob(held.key)).toMatchObject({ status: 'pending' });
        expect((await store.listAudit({ runId: 'run-a' })).map((a) => a.kind)).toEqual(['approval.requested']);
      }));
  });

  describe('Store contract: rescheduleJob', () => {
    it('moves the next attempt of a pending job only', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        await step(store, 'run-a', { jobs: [job('run-a', 1, 'work', { runAt: T0 + 60_000 }), job('run-a', 1, 'publish', { index: 1, held: true })] });
        expect(await store.rescheduleJob('run-a:1:0', T0)).toBe(true);
        expect((await store.getJob('run-a:1:0'))?.runAt).toBe(T0);
        expect(await store.rescheduleJob('run-a:1:1', T0)).toBe(false);
        expect(await store.rescheduleJob('missing', T0)).toBe(false);
      }));
  });
}

