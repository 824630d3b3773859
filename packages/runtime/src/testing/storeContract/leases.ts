import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { JobCompletion, Store } from '../../Store.js';
import { commitOf, job, startRun, step, T0 } from './build.js';
import type { WithStore } from './index.js';

/** Short enough to wait out in a test, long enough that a busy machine renews or claims within it. */
const LEASE_MS = 400;

/** Registers (or renews) a host with a short lease; real time, as PostgreSQL judges leases by its own clock. */
function renew(store: Store, id: string) {
  return store.heartbeat({ id, hostname: `machine-${id}`, pid: 1, startedAt: T0, heartbeatAt: Date.now() }, LEASE_MS);
}

/** Host h1's result of the first attempt of job `run-a:1:0`, arriving after another host took the job over. */
function lateResult(journal: string): JobCompletion {
  return {
    key: 'run-a:1:0',
    owner: 'h1',
    attempt: 1,
    status: 'done',
    output: '"late"',
    error: null,
    journal,
    event: { actorId: 'run-a', type: 'xstate.done.actor.work', event: '{"type":"xstate.done.actor.work","output":"late"}', dueAt: T0, source: 'activity:run-a:1:0' },
  };
}

async function epochOf(store: Store, actorId: string): Promise<{ owner: string | null; ownerEpoch: number }> {
  const actor = (await store.getActor(actorId))!;
  return { owner: actor.owner, ownerEpoch: actor.ownerEpoch };
}

/** Run `run-a` after one step that created job `run-a:1:0`, owned by h1, with h1 and h2 both live: its owner and epoch. */
async function ownedByH1(store: Store): Promise<{ owner: string | null; ownerEpoch: number }> {
  await startRun(store, 'run-a');
  await step(store, 'run-a', { jobs: [job('run-a', 1, 'work')] });
  await renew(store, 'h1');
  await renew(store, 'h2');
  expect(await store.claimActors(['run-a'], 'h1', [], Date.now())).toEqual(['run-a']);
  return epochOf(store, 'run-a');
}

/** Ownership leases and fencing tokens: a host's work changes hands only after its lease ran out, and its late writes are refused. */
export function runLeaseContract(withStore: WithStore): void {
  describe('Store contract (host): leases and fencing', () => {
    it("hands a live host's actors and running jobs to another host only after its lease expired, growing the actor's epoch", () =>
      withStore(async (store) => {
        const first = await ownedByH1(store);
        expect(first.owner).toBe('h1');
        expect(await store.claimActors(['run-a'], 'h1', [], Date.now())).toEqual(['run-a']);
        expect(await epochOf(store, 'run-a')).toEqual(first); // a claim of its own actor changes nothing
        expect(await store.claimJob('run-a:1:0', 'h1', Date.now(), [])).toMatchObject({ owner: 'h1', attempts: 1 });

        expect(await store.claimActors(['run-a'], 'h2', [], Date.now())).toEqual([]);
        expect(await store.claimJob('run-a:1:0', 'h2', Date.now(), [])).toBeUndefined();
        expect(await store.runnable(Date.now(), 'h2', [], 10)).toEqual({ actors: [], jobs: [] });

        await sleep(LEASE_MS + 200);
        await renew(store, 'h2');
        expect((await store.runnable(Date.now(), 'h2', [], 10)).jobs).toEqual([{ key: 'run-a:1:0', actorId: 'run-a' }]);
        expect(await store.claimActors(['run-a'], 'h2', [], Date.now())).toEqual(['run-a']);
        expect(await epochOf(store, 'run-a')).toEqual({ owner: 'h2', ownerEpoch: first.ownerEpoch + 1 });
        expect(await store.claimJob('run-a:1:0', 'h2', Date.now(), [])).toMatchObject({ owner: 'h2', attempts: 2 });
      }));

    it("hands over at once the actors and running jobs of an owner whose hosts row is gone, and refuses that owner's late writes", () =>
      withStore(async (store) => {
        const stale = await ownedByH1(store);
        expect(await store.claimJob('run-a:1:0', 'h1', Date.now(), [])).toMatchObject({ owner: 'h1', attempts: 1 });
        await store.enqueue([{ actorId: 'run-a', type: 'go', event: '{"type":"go"}', dueAt: T0, source: 'external' }]);
        const [event] = await store.nextEvents('run-a', Number.MAX_SAFE_INTEGER, 1);

        // h1's lease has not run out, but its row is gone (a stop that raced a late claim, an operator, a restored
        // backup): no renewal will ever bring it back, so its work is takeable now rather than never.
        await store.removeHost('h1');
        expect(await store.runnable(Date.now(), 'h2', [], 10)).toEqual({ actors: ['run-a'], jobs: [{ key: 'run-a:1:0', actorId: 'run-a' }] });
        expect(await store.claimActors(['run-a'], 'h2', [], Date.now())).toEqual(['run-a']);
        expect(await epochOf(store, 'run-a')).toEqual({ owner: 'h2', ownerEpoch: stale.ownerEpoch + 1 });
        expect(await store.claimJob('run-a:1:0', 'h2', Date.now(), [])).toMatchObject({ owner: 'h2', attempts: 2 });

        // The old owner's late step and late result are refused.
        expect(await store.commitStep({ ...commitOf('run-a', 1, event!.id, 'go'), fence: { owner: 'h1', epoch: stale.ownerEpoch } })).toEqual({ ok: false, reason: 'fenced' });
        expect(await store.completeJob(lateResult('[]'))).toBe(false);
        expect(await store.getActor('run-a')).toMatchObject({ seq: 1, owner: 'h2' });
        expect(await store.getJob('run-a:1:0')).toMatchObject({ status: 'running', owner: 'h2', attempts: 2 });

        // An owner never registered at all (its row lost with a restored backup) is no different; a live host's actor stays its own.
        await startRun(store, 'run-b');
        await startRun(store, 'run-c');
        expect(await store.claimActors(['run-b'], 'ghost', [], Date.now())).toEqual(['run-b']);
        expect(await store.claimActors(['run-c'], 'h2', [], Date.now())).toEqual(['run-c']);
        expect(await store.claimActors(['run-b', 'run-c'], 'h3', [], Date.now())).toEqual(['run-b']);
      }));

    it('refuses a step committed with a stale epoch (fenced, nothing written) and takes the new owner\'s', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        await renew(store, 'h1');
        await store.claimActors(['run-a'], 'h1', [], Date.now());
        const stale = await epochOf(store, 'run-a');
        const [event] = await store.nextEvents('run-a', Number.MAX_SAFE_INTEGER, 1);
        // Released and claimed again (here by another host): every change of owner grows the epoch.
        await store.releaseOwner('h1');
        await store.claimActors(['run-a'], 'h2', [], Date.now());
        const fresh = await epochOf(store, 'run-a');
        expect(fresh.ownerEpoch).toBeGreaterThan(stale.ownerEpoch);

        expect(await store.commitStep({ ...commitOf('run-a', 0, event!.id, 'xstate.init'), fence: { owner: 'h1', epoch: stale.ownerEpoch } })).toEqual({ ok: false, reason: 'fenced' });
        expect(await store.commitStep({ ...commitOf('run-a', 0, event!.id, 'xstate.init'), fence: { owner: 'h2', epoch: stale.ownerEpoch } })).toEqual({ ok: false, reason: 'fenced' });
        expect(await store.getActor('run-a')).toMatchObject({ seq: 0, owner: 'h2' });
        expect(await store.history('run-a')).toEqual([]);
        expect(await store.commitStep({ ...commitOf('run-a', 0, event!.id, 'xstate.init'), fence: { owner: 'h2', epoch: fresh.ownerEpoch } })).toEqual({ ok: true });
        expect(await store.getActor('run-a')).toMatchObject({ seq: 1, owner: 'h2', ownerEpoch: fresh.ownerEpoch });
      }));

    it('refuses a late result or retry of an attempt whose job was taken over, and keeps the new attempt\'s', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        await step(store, 'run-a', { jobs: [job('run-a', 1, 'work')] });
        await renew(store, 'h1');
        await store.claimActors(['run-a'], 'h1', [], Date.now());
        expect(await store.claimJob('run-a:1:0', 'h1', Date.now(), [])).toMatchObject({ attempts: 1 });
        await sleep(LEASE_MS + 200);
        await renew(store, 'h2');
        expect(await store.claimJob('run-a:1:0', 'h2', Date.now(), [])).toMatchObject({ owner: 'h2', attempts: 2 });

        const late = lateResult('[{"attempt":1}]');
        expect(await store.completeJob(late)).toBe(false);
        expect(await store.retryJob({ key: 'run-a:1:0', owner: 'h1', attempt: 1, runAt: T0, journal: '[]' })).toBe(false);
        expect(await store.completeJob({ ...late, owner: 'h2' })).toBe(false); // the owner's earlier attempt is stale too
        if (store.commitBatch) expect(await store.commitBatch([{ completion: late }])).toEqual([{ ok: false, reason: 'refused' }]);
        expect(await store.getJob('run-a:1:0')).toMatchObject({ status: 'running', owner: 'h2', attempts: 2 });
        expect((await store.nextEvents('run-a', Number.MAX_SAFE_INTEGER, 10)).map((e) => e.type)).not.toContain('xstate.done.actor.work');

        expect(await store.completeJob({ ...late, owner: 'h2', attempt: 2, output: '"new"' })).toBe(true);
        expect(await store.getJob('run-a:1:0')).toMatchObject({ status: 'done', output: '"new"', attempts: 2 });
        expect(await store.completeJob(late)).toBe(false); // and never after the job finished
      }));

    it('tells a host whose lease ran out, at its next renewal, that it expired; a timely renewal keeps it', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        expect(await renew(store, 'h1')).toMatchObject({ expired: false });
        await store.claimActors(['run-a'], 'h1', [], Date.now());
        await sleep(LEASE_MS / 4);
        const renewed = await renew(store, 'h1');
        expect(renewed.expired).toBe(false);
        expect(renewed.hosts.find((h) => h.id === 'h1')?.leaseUntil).toBeGreaterThan(0);

        await sleep(LEASE_MS + 200);
        await renew(store, 'h2');
        expect(await store.claimActors(['run-a'], 'h2', [], Date.now())).toEqual(['run-a']);
        expect(await renew(store, 'h1')).toMatchObject({ expired: true });
        // Renewed again, its lease holds, but what was taken over stays taken.
        expect(await store.claimActors(['run-a'], 'h1', [], Date.now())).toEqual([]);
        expect(await renew(store, 'h1')).toMatchObject({ expired: false, found: true });
      }));

    it('tells a host at its next renewal that its row was gone (its work was anyone\'s to take), and a new host that it had none', () =>
      withStore(async (store) => {
        expect(await renew(store, 'h1')).toMatchObject({ expired: false, found: false });
        expect(await renew(store, 'h1')).toMatchObject({ expired: false, found: true });
        await store.removeHost('h1');
        expect(await renew(store, 'h1')).toMatchObject({ expired: false, found: false });
        expect(await renew(store, 'h1')).toMatchObject({ expired: false, found: true });
      }));
  });
}
