import { PostgresStore } from '@spine/store-postgres';
import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { freshPostgresUrl } from '../../../../test/support/postgres.js';
import { SimulatedClock } from '../clock.js';
import { createRuntime } from '../createRuntime.js';
import type { Store } from '../Store.js';
import { tempDbPath, timerMachine as timer } from '../testing/fixtures.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/**
 * The store with its `claimActors` held at a gate once armed: the call waits (it has not reached
 * the store yet) until the host's `releaseOwner` has returned, or `fallbackMs` passed (a host
 * that waits for its scan before releasing never calls it while the claim waits).
 */
function gatedClaims(store: Store, fallbackMs: number) {
  let armed = false;
  let released = false;
  let releasedFirst: boolean | undefined;
  let reached!: () => void;
  const atGate = new Promise<void>((resolve) => (reached = resolve));
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let claim: Promise<unknown> = Promise.resolve();
  const gated = new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop === 'claimActors') {
        return (...args: Parameters<Store['claimActors']>) => {
          if (!armed || !args[0].length) return target.claimActors(...args);
          armed = false;
          reached();
          setTimeout(open, fallbackMs);
          return (claim = opened.then(() => {
            releasedFirst = released;
            return target.claimActors(...args);
          }));
        };
      }
      if (prop === 'releaseOwner') {
        return async (owner: string) => {
          await target.releaseOwner(owner);
          released = true;
          open();
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    store: gated,
    arm: () => void (armed = true),
    atGate,
    /** The held claim, once it reached the store. */
    claimDone: () => claim,
    /** Whether the host had released its ownership when the held claim went on. */
    releasedFirst: () => releasedFirst,
  };
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`a host stopping while a scan is under way (${kind})`, () => {
    it('owns nothing once stop() returns, so the next host takes the actor over at once', async () => {
      const path = kind === 'sqlite' ? tempDbPath() : freshPostgresUrl('stoprace');
      const open = (): Promise<Store> => (kind === 'sqlite' ? SqliteStore.open(path) : PostgresStore.open(path));
      const clock = new SimulatedClock();
      const base = await open();
      cleanup.push(() => base.close());
      const gate = gatedClaims(base, 300);
      const first = createRuntime({ store: gate.store, machines: [timer], clock, hostId: 'host-a', pollIntervalMs: 10, onError: () => {} });
      await first.start();
      await first.startRun('timer', { runId: 'r' });
      await first.idle();
      expect(await base.getActor('r')).toMatchObject({ owner: 'host-a', stateValue: '"waiting"' });

      // The timer falls due; the next poll finds it and its claim is held while the host stops.
      gate.arm();
      clock.advance(1000);
      await gate.atGate;
      await first.stop();
      await gate.claimDone();

      // Before the fix the claim went on after the host released its actors and removed its row:
      // the actor stayed owned by a host no other host could ever take over from.
      expect(gate.releasedFirst()).toBe(false);
      expect(await base.getActor('r')).toMatchObject({ owner: null });
      expect((await base.heartbeat({ id: 'probe', hostname: 'probe', pid: 0, startedAt: 0, heartbeatAt: 0 })).hosts.map((h) => h.id)).not.toContain('host-a');

      const store = await open();
      const second = createRuntime({ store, machines: [timer], clock, hostId: 'host-b', pollIntervalMs: 10_000, onError: () => {} });
      cleanup.push(async () => {
        await second.stop();
        await store.close();
      });
      await second.start();
      await second.poke();
      await second.idle();
      expect(await store.getActor('r')).toMatchObject({ stateValue: '"rang"' });
    });
  });
}
