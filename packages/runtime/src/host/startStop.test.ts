import { PostgresStore } from '@spine/store-postgres';
import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { freshPostgresUrl } from '../../../../test/support/postgres.js';
import { SimulatedClock } from '../clock.js';
import { createRuntime } from '../createRuntime.js';
import { SpineError } from '../errors.js';
import type { BatchEntry, Store } from '../Store.js';
import { tempDbPath, timerMachine as timer, wrapped } from '../testing/fixtures.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A gate: `reached` resolves when the held call arrives; the call goes on at `open()` or after `fallbackMs`. */
function gate(fallbackMs: number) {
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    reached,
    open,
    /** Holds a call here once. */
    hold: () => {
      reach();
      setTimeout(open, fallbackMs);
      return opened;
    },
  };
}

for (const kind of ['sqlite', 'postgres'] as const) {
  const path = () => (kind === 'sqlite' ? tempDbPath() : freshPostgresUrl('startstop'));
  const open = (at: string): Promise<Store> => (kind === 'sqlite' ? SqliteStore.open(at) : PostgresStore.open(at));

  async function opened(at: string): Promise<Store> {
    const store = await open(at);
    cleanup.push(() => store.close());
    return store;
  }

  /** A second host on the same database, which must find and step what the first left. */
  async function nextHost(at: string, clock: SimulatedClock) {
    const store = await open(at);
    const runtime = createRuntime({ store, machines: [timer], clock, hostId: 'host-b', pollIntervalMs: 10_000, onError: () => {} });
    cleanup.push(async () => {
      await runtime.stop();
      await store.close();
    });
    await runtime.start();
    return { runtime, store };
  }

  describe(`starting and stopping a host while runs start (${kind})`, () => {
    it('never owns a run before its hosts row exists: a run started while the host is starting has no owner until then', async () => {
      const at = path();
      const base = await opened(at);
      const renewal = gate(5_000); // opened at once by the run's createActors; the fallback only bounds a failure
      let renewed = false;
      const ownedBeforeRow: string[] = [];
      let first = true;
      const store = wrapped(base, {
        heartbeat: async (call) => {
          if (first) {
            first = false;
            await renewal.hold();
          }
          const result = await call();
          renewed = true;
          return result;
        },
        createActors: (call, actors) => {
          for (const actor of actors as { id: string; owner: string | null }[]) if (actor.owner === 'host-a' && !renewed) ownedBeforeRow.push(actor.id);
          renewal.open();
          return call();
        },
      });
      const clock = new SimulatedClock();
      const runtime = createRuntime({ store, machines: [timer], clock, hostId: 'host-a', pollIntervalMs: 10, onError: () => {} });
      cleanup.push(() => runtime.stop());
      const starting = runtime.start();
      await renewal.reached;
      await runtime.startRun('timer', { runId: 'r' });
      await starting;
      await runtime.idle();

      // Before the fix the run was written owned by host-a while host-a had no row: any other host could take it.
      expect(ownedBeforeRow).toEqual([]);
      expect(await base.getActor('r')).toMatchObject({ owner: 'host-a', stateValue: '"waiting"' });
    });

    it('waits in stop() for a run being started, then releases it with the rest, so the next host takes it over', async () => {
      const at = path();
      const base = await opened(at);
      const create = gate(300);
      let armed = false;
      let released = false;
      let releasedBeforeCreate: boolean | undefined;
      // The run's creation: by `createActors`, or with its first step in a batch entry where the store does that.
      const holdCreation = async (call: () => Promise<unknown>) => {
        if (armed) {
          armed = false;
          await create.hold();
          releasedBeforeCreate = released;
        }
        return call();
      };
      const store = wrapped(base, {
        createActors: holdCreation,
        commitBatch: (call, entries) => ((entries as BatchEntry[]).some((e) => e.create) ? holdCreation(call) : call()),
        releaseOwner: async (call) => {
          await call();
          released = true;
          create.open();
        },
      });
      const clock = new SimulatedClock();
      const first = createRuntime({ store, machines: [timer], clock, hostId: 'host-a', pollIntervalMs: 10, onError: () => {} });
      await first.start();

      armed = true;
      const starting = first.startRun('timer', { runId: 'r' });
      await create.reached;
      await first.stop();

      // Before the fix stop() released the host's actors and removed its row while the start was still on its
      // way: the run was then written owned by a host that had gone.
      expect(releasedBeforeCreate).toBe(false);
      await expect(starting).resolves.toMatchObject({ runId: 'r' });
      // Released with the rest: created alone (seq 0), or with its first step (seq 1).
      expect(await base.getActor('r')).toMatchObject({ owner: null, seq: base.createsWithStep ? 1 : 0 });

      const second = await nextHost(at, clock);
      await second.runtime.poke();
      await second.runtime.idle();
      clock.advance(1000);
      await second.runtime.poke();
      await second.runtime.idle();
      expect(await second.store.getActor('r')).toMatchObject({ owner: 'host-b', stateValue: '"rang"' });
    });

    it('refuses a run started once stop() began, naming it, and writes nothing of it', async () => {
      const at = path();
      const base = await opened(at);
      const clock = new SimulatedClock();
      const runtime = createRuntime({ store: base, machines: [timer], clock, hostId: 'host-a', pollIntervalMs: 10, onError: () => {} });
      await runtime.start();
      const stopping = runtime.stop();
      const late = runtime.startRun('timer', { runId: 'late' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      await stopping;
      const error = await late;
      expect(SpineError.is(error) && error.code).toBe('closed');
      expect((error as Error).message).toMatch(/runtime is stopping: run late was not started/);
      await expect(runtime.startRun('timer')).rejects.toThrow(/runtime is stopping: a run of 'timer' was not started/);
      expect(await base.getActor('late')).toBeUndefined();
      expect(await base.listActors({ limit: 10 })).toEqual([]);
    });
  });
}
