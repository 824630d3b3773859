import { describe, expect, it } from 'vitest';
import { approvalFor, job, requested, startRun, step, T0 } from './build.js';
import type { WithStore } from './index.js';

/** The approvals role (`ApprovalStore`): approvals, deadlines, signed decisions, resolution. */
export function runApprovalContract(withStore: WithStore): void {
  describe('Store contract (approvals)', () => {
    it('lists a held job\'s approval, finds it due after its deadline, and halts the run while a high-risk one is pending', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        const held = job('run-a', 1, 'publish', { held: true });
        await step(store, 'run-a', { jobs: [held], approvals: [{ ...approvalFor(held), deadlineAt: T0 + 100 }], audit: [requested(held)] });
        expect((await store.listApprovals({ runId: 'run-a', status: ['pending'] })).map((a) => a.id)).toEqual([`approval:${held.key}`]);
        expect(await store.getApproval(`approval:${held.key}`)).toMatchObject({ status: 'pending', tier: 'medium', src: 'publish' });
        expect(await store.dueApprovals(T0 + 50, 10)).toEqual([]);
        expect((await store.dueApprovals(T0 + 100, 10)).map((a) => a.id)).toEqual([`approval:${held.key}`]);
        expect(await store.isRunHalted('run-a')).toBe(false);
        await startRun(store, 'run-h');
        const risky = job('run-h', 1, 'wire', { held: true });
        await step(store, 'run-h', { jobs: [risky], approvals: [{ ...approvalFor(risky), tier: 'high' }] });
        expect(await store.isRunHalted('run-h')).toBe(true);
      }));

    it('keeps submitted decisions until applied, and an approval releases its held job with the edited input', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        const held = job('run-a', 1, 'publish', { held: true });
        await step(store, 'run-a', { jobs: [held], approvals: [approvalFor(held)] });
        const id = await store.submitDecision({ approvalId: `approval:${held.key}`, payload: '{"decision":"approve"}', signature: 'sig' });
        expect((await store.pendingDecisions(10)).map((d) => [d.id, d.status])).toEqual([[id, 'submitted']]);
        const audit = [{ at: T0, runId: 'run-a', actorId: 'run-a', kind: 'approval.approved' as const, who: 'ada', subject: `approval:${held.key}`, detail: '{}' }];
        expect(await store.resolveApproval({ approvalId: `approval:${held.key}`, outcome: 'approved', decisionId: id, decidedBy: 'ada', decidedAt: T0, signature: 'sig', jobInput: '{"title":"edited"}', editedInput: '{"title":"edited"}', audit, now: T0 })).toBe(true);
        expect(await store.getApproval(`approval:${held.key}`)).toMatchObject({ status: 'approved', decidedBy: 'ada' });
        expect(await store.getJob(held.key)).toMatchObject({ status: 'pending', input: '{"title":"edited"}' });
        expect(await store.pendingDecisions(10)).toEqual([]);
        expect(await store.resolveApproval({ approvalId: `approval:${held.key}`, outcome: 'rejected', decidedBy: 'bob', decidedAt: T0, audit: [], now: T0 })).toBe(false);
      }));

    it('rejects a held job: the job fails with the error and the rejection event is delivered', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        const held = job('run-a', 1, 'publish', { held: true });
        await step(store, 'run-a', { jobs: [held], approvals: [approvalFor(held)] });
        const event = { actorId: 'run-a', type: 'xstate.error.actor.publish', event: '{"type":"xstate.error.actor.publish"}', dueAt: T0, source: 'approval' };
        expect(await store.resolveApproval({ approvalId: `approval:${held.key}`, outcome: 'rejected', decidedBy: 'bob', decidedAt: T0, reason: 'no', jobError: '{"kind":"rejected"}', event, audit: [], now: T0 })).toBe(true);
        expect(await store.getJob(held.key)).toMatchObject({ status: 'failed' });
        expect((await store.nextEvents('run-a', T0, 10)).map((e) => e.type)).toContain('xstate.error.actor.publish');
      }));
  });
}
