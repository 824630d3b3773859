import { describe, expect, it } from 'vitest';
import { planVersionMove } from '../../control/moveActorToVersion.js';
import { startRun, step, T0 } from './build.js';
import type { WithStore } from './index.js';

/** The run-control role (`RunControlStore`) beyond fork, stop and reschedule: version moves. */
export function runRunControlContract(withStore: WithStore): void {
  describe('Store contract (run control): moveActorVersion', () => {
    it('moves a started actor to another version as a fenced step with its audit row, and refuses a stale seq', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        await step(store, 'run-a');
        const move = planVersionMove((await store.getActor('run-a'))!, { to: 'v2', now: T0 + 1, who: 'ana' });
        expect(await store.moveActorVersion({ ...move, expectedSeq: 0 })).toBe(false);
        expect(await store.moveActorVersion({ ...move, from: 'v0' })).toBe(false);
        expect(await store.moveActorVersion(move)).toBe(true);
        expect(await store.getActor('run-a')).toMatchObject({ version: 'v2', seq: 2, updatedAt: T0 + 1 });
        expect((await store.history('run-a')).at(-1)).toMatchObject({ seq: 2, eventType: 'spine.version.moved', version: 'v2' });
        expect((await store.listAudit({ runId: 'run-a' })).map((a) => [a.kind, a.who])).toEqual([['actor.version_moved', 'ana']]);
        expect(await store.moveActorVersion(move)).toBe(false);
      }));

    it('moves an actor that has not started without a step', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        const move = planVersionMove((await store.getActor('run-a'))!, { to: 'v2', now: T0 + 1, who: 'ana' });
        expect(move.history).toBeNull();
        expect(await store.moveActorVersion(move)).toBe(true);
        expect(await store.getActor('run-a')).toMatchObject({ version: 'v2', seq: 0, snapshot: null });
        expect(await store.history('run-a')).toEqual([]);
      }));
  });
}
