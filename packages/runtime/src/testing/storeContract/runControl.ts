import { describe, expect, it } from 'vitest';
import { startRun, step, T0 } from './build.js';
import type { WithStore } from './index.js';

/** The run-control role (`RunControlStore`) beyond fork, stop and reschedule: version moves. */
export function runRunControlContract(withStore: WithStore): void {
  describe('Store contract (run control): moveActorVersion', () => {
    it('moves a started actor to another version as a fenced step with its audit row, and refuses a stale seq', () =>
      withStore(async (store) => {
        await startRun(store, 'run-a');
        await step(store, 'run-a');
        const audit = [{ at: T0 + 1, runId: 'run-a', actorId: 'run-a', kind: 'actor.version_moved' as const, who: 'ana', subject: 'm@v2', detail: '{}' }];
        expect(await store.moveActorVersion({ actorId: 'run-a', expectedSeq: 0, from: 'v1', to: 'v2', at: T0 + 1 })).toBe(false);
        expect(await store.moveActorVersion({ actorId: 'run-a', expectedSeq: 1, from: 'v1', to: 'v2', at: T0 + 1, audit })).toBe(true);
        expect(await store.getActor('run-a')).toMatchObject({ version: 'v2', seq: 2 });
        expect((await store.history('run-a')).at(-1)).toMatchObject({ seq: 2, eventType: 'spine.version.moved', version: 'v2' });
        expect((await store.listAudit({ runId: 'run-a' })).map((a) => a.kind)).toEqual(['actor.version_moved']);
      }));
  });
}
