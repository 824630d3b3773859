import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRuntime, type Runtime } from '../createRuntime.js';
import { defineActivity, defineMachine } from '../defineMachine.js';
import type { Store } from '../Store.js';
import { tempDbPath, wrapped } from '../testing/fixtures.js';

const open: Runtime[] = [];
afterEach(async () => {
  for (const runtime of open.splice(0)) {
    await runtime.stop();
    await runtime.store.close();
  }
});

const waiter = defineMachine({
  name: 'waiter',
  config: { id: 'waiter', initial: 'waiting', states: { waiting: { on: { tick: 'woken' } }, woken: {} } },
  schemas: { events: { tick: z.object({}) } },
});

describe('a host woken for more actors than one scan claims', () => {
  it('steps every one of them before idle() resolves, without waiting for its next poll', async () => {
    // A scan claims at most as many actors as the host has drains free (256 by default): 600 need three shares.
    const actors = 600;
    const path = tempDbPath();
    // The actors wait, started by a host that stopped since (it released them: none is this host's yet).
    const starter = createRuntime({ store: await SqliteStore.open(path), machines: [waiter] });
    await starter.start();
    for (let i = 0; i < actors; i++) await starter.startRun('waiter', { runId: `waiter-${i}` });
    await starter.idle();
    await starter.stop();
    await starter.store.close();

    const store = await SqliteStore.open(path);
    // Polls an hour apart: only the host's own follow-up scans can reach the actors the first scan left.
    const runtime = createRuntime({ store, machines: [waiter], pollIntervalMs: 3_600_000 });
    open.push(runtime);
    await runtime.start();
    await runtime.idle();

    // Another process's events, as `spine send` stores them: the host learns of them by a poke.
    await store.enqueue(Array.from({ length: actors }, (_, i) => ({ actorId: `waiter-${i}`, type: 'tick', event: '{"type":"tick"}', dueAt: 0, source: 'external' })));
    await runtime.poke();
    await runtime.idle();

    const rows = await store.listActors({ rootsOnly: true, limit: actors + 1 });
    expect(rows).toHaveLength(actors);
    expect(rows.filter((r) => r.stateValue === '"woken"')).toHaveLength(actors);
    expect(await store.runnable(Date.now(), 'anyone', [], 10)).toMatchObject({ actors: [], jobs: [] });
  });
});

describe('a host whose hosts row is removed while it runs', () => {
  it('learns at its next renewal that its work was anyone\'s to take, as after an expired lease, and says so once', async () => {
    const store = await SqliteStore.open(tempDbPath());
    const runtime = createRuntime({ store, machines: [waiter], hostId: 'host-a', heartbeatMs: 40, pollIntervalMs: 3_600_000 });
    open.push(runtime);
    const said: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      if (String(chunk).includes('host-a')) said.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stderr.write;
    try {
      await runtime.start();
      await new Promise((resolve) => setTimeout(resolve, 150)); // renewals of a row that is there: nothing to say
      expect(said).toEqual([]);
      await store.removeHost('host-a');
      for (let i = 0; i < 50 && !said.length; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(/host host-a: its lease had run out/);
      expect((await store.heartbeat({ id: 'other', hostname: 'x', pid: 1, startedAt: 0, heartbeatAt: Date.now() })).hosts.map((h) => h.id)).toContain('host-a');
    } finally {
      process.stderr.write = write;
    }
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the poll of a host that other processes wake', () => {
  async function polling(wakeable: boolean) {
    const sqlite = await SqliteStore.open(tempDbPath());
    let scans = 0;
    const store = wrapped(sqlite, {
      runnable: (call) => {
        scans++;
        return call();
      },
      // A store that cannot wake hosts: the same SQLite file without `onWake`.
      ...(wakeable ? {} : { onWake: null }),
    });
    const runtime = createRuntime({ store, machines: [waiter], pollIntervalMs: 10, leaseMs: 3_000 });
    open.push(runtime);
    await runtime.start();
    return { runtime, sqlite, scans: () => scans };
  }

  it('waits twice as long after each poll that finds nothing, up to ten intervals, where a poll that cannot be woken keeps its pace', async () => {
    const idle = await polling(true);
    const plain = await polling(false);
    await sleep(600);
    // 600 ms of nothing: polls 10, 20, 40, 80, 100, 100 … ms apart (about 9), against one every 10 ms.
    expect(idle.scans()).toBeLessThan(15);
    expect(plain.scans()).toBeGreaterThan(20);
    // Backed off, it still finds work another process stored without waking it (within its longest wait, 100 ms).
    const { runId } = await idle.runtime.startRun('waiter');
    await idle.runtime.idle();
    await idle.sqlite.enqueue([{ actorId: runId, type: 'tick', event: '{"type":"tick"}', dueAt: 0, source: 'external' }]);
    for (let i = 0; i < 100 && (await idle.sqlite.getActor(runId))?.stateValue !== '"woken"'; i++) await sleep(10);
    expect((await idle.sqlite.getActor(runId))?.stateValue).toBe('"woken"');
  });

  it.each([
    ['running freely', false],
    // Busy from just before the silent host's lease ends to after it: the survivor's renewal timer,
    // due first, renews past the end before the lease-end timer runs, which must not drop that scan.
    ['blocked across the lease end', true],
  ])("looks for a silent host's actors when its lease runs out, not at its next poll (event loop %s)", async (_, block) => {
    const path = tempDbPath();
    // The host that will fall silent: its renewals stop being answered (a paused process), its lease is 400 ms.
    const ghostStore = await SqliteStore.open(path);
    let silent = false;
    let answer: (() => void) | undefined;
    let leaseUntil = 0;
    const ghost = createRuntime({
      store: wrapped(ghostStore, {
        heartbeat: async (call) => {
          if (silent) return new Promise<never>((_, reject) => (answer = () => reject(new Error('the host was paused'))));
          const renewed = (await call()) as Awaited<ReturnType<Store['heartbeat']>>;
          leaseUntil = renewed.hosts.find((h) => h.id === 'ghost')?.leaseUntil ?? leaseUntil;
          return renewed;
        },
      }),
      machines: [waiter],
      hostId: 'ghost',
      leaseMs: 400,
      heartbeatMs: 100,
      pollIntervalMs: 3_600_000,
      onError: () => {},
    });
    await ghost.start();
    const { runId } = await ghost.startRun('waiter');
    await ghost.idle();
    expect((await ghostStore.getActor(runId))?.owner).toBe('ghost');
    silent = true;

    // The survivor never polls within the test; its renewals see the ghost's lease.
    const store = await SqliteStore.open(path);
    const survivor = createRuntime({ store, machines: [waiter], hostId: 'survivor', leaseMs: 3_000, heartbeatMs: 50, pollIntervalMs: 3_600_000 });
    open.push(survivor);
    await survivor.start();
    // Stored as another process would, without waking anyone: only the lease's end makes the survivor look.
    await store.enqueue([{ actorId: runId, type: 'tick', event: '{"type":"tick"}', dueAt: 0, source: 'external' }]);
    if (block) {
      const end = leaseUntil + 20; // SQLite judges leases by the hosts' own clock (this process's)
      await sleep(Math.max(0, end - 120 - Date.now()));
      for (const until = end + 200; Date.now() < until; );
    }
    for (let i = 0; i < 200 && (await store.getActor(runId))?.stateValue !== '"woken"'; i++) await sleep(10);
    expect(await store.getActor(runId)).toMatchObject({ owner: 'survivor', stateValue: '"woken"' });

    answer?.();
    await ghost.stop();
    await ghostStore.close();
  });
});

describe('a host driving runs whose every step settles at once', () => {
  it('lets the event loop turn while it drives them: timers fire and its lease is renewed', async () => {
    // Synchronous SQLite and an activity that awaits nothing: without the host's own turns, run
    // after run never gave the event loop a turn (2.2 s of runs, not one timer fired).
    const chain = defineMachine({
      name: 'chain',
      config: {
        id: 'chain',
        initial: 's0',
        states: { s0: { invoke: { id: 'w0', src: 'work', onDone: 's1' } }, s1: { invoke: { id: 'w1', src: 'work', onDone: 'done' } }, done: { type: 'final' } },
      },
      schemas: { events: {} },
      activities: { work: defineActivity({ run: async () => ({ ok: true }) }) },
    });
    const store = await SqliteStore.open(tempDbPath());
    const said: string[] = [];
    // A lease of 300 ms renewed every 100: a loop that kept the event loop for longer would let it run out.
    const runtime = createRuntime({ store, machines: [chain], leaseMs: 300, heartbeatMs: 100, pollIntervalMs: 3_600_000, onError: (error) => said.push(error.message) });
    open.push(runtime);
    const stderr = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (said.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      await runtime.start();
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      const t0 = performance.now();
      let runs = 0;
      try {
        while (performance.now() - t0 < 600) {
          const { runId } = await runtime.startRun('chain');
          expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done' });
          runs++;
        }
      } finally {
        clearInterval(timer);
      }
      const elapsed = performance.now() - t0;
      expect(runs).toBeGreaterThan(10);
      // A turn at least every 20 ms or so (a 5 ms interval fires once a turn): far more than none.
      expect(ticks).toBeGreaterThan(elapsed / 60);
    } finally {
      process.stderr.write = stderr;
    }
    expect(said.filter((line) => /lease had run out/.test(line))).toEqual([]);
  });

  it('lets it turn between the events of one long mailbox, drained by one drain', async () => {
    const ring = defineMachine({
      name: 'ring',
      config: { id: 'ring', initial: 'a', states: { a: { on: { tick: 'b' } }, b: { on: { tick: 'a' } } } },
      schemas: { events: { tick: z.object({}) } },
    });
    const store = await SqliteStore.open(tempDbPath());
    const runtime = createRuntime({ store, machines: [ring], pollIntervalMs: 3_600_000 });
    open.push(runtime);
    await runtime.start();
    const { runId } = await runtime.startRun('ring');
    await runtime.idle();
    const events = 3_000;
    await store.enqueue(Array.from({ length: events }, () => ({ actorId: runId, type: 'tick', event: '{"type":"tick"}', dueAt: 0, source: 'external' })));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const t0 = performance.now();
    try {
      await runtime.poke();
      await runtime.idle();
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - t0;
    expect(await store.getActor(runId)).toMatchObject({ seq: events + 1 });
    expect(ticks).toBeGreaterThan(elapsed / 60);
  });
});

describe('runs in flight whose results arrive together', () => {
  it('commit their steps in one group commit, not one per drain: every drain of a pass is counted before the first reaches its commit', async () => {
    // Each step is an activity that settles at once: a drain plans and reaches its commit without waiting a
    // turn. Counted one by one as they started, the first drain found itself the only committer and wrote alone.
    const steps = 5;
    const states: Record<string, unknown> = {};
    for (let i = 0; i < steps; i++) states[`s${i}`] = { invoke: { id: `w${i}`, src: 'work', onDone: i + 1 < steps ? `s${i + 1}` : 'done' } };
    states.done = { type: 'final' };
    const chain = defineMachine({ name: 'chain', config: { id: 'chain', initial: 's0', states }, schemas: { events: {} }, activities: { work: defineActivity({ run: async () => 'ok' }) } });
    const sizes: number[] = [];
    const store = wrapped(await SqliteStore.open(tempDbPath()), {
      commitBatch: (call, entries) => {
        sizes.push((entries as unknown[]).length);
        return call();
      },
    });
    const runtime = createRuntime({ store, machines: [chain] });
    open.push(runtime);
    await runtime.start();
    const runs = 40;
    await Promise.all(Array.from({ length: runs }, (_, i) => runtime.startRun('chain', { runId: `chain-${i}` })));
    sizes.length = 0; // from here on, only the activities' results and the steps they cause
    await Promise.all(Array.from({ length: runs }, (_, i) => runtime.waitForRun(`chain-${i}`)));
    const entries = sizes.reduce((a, b) => a + b, 0);
    expect(entries).toBeGreaterThanOrEqual(runs * (steps - 1));
    // 40 runs x 5 steps in about 5 batches of 40; the regression wrote about twice as many batches.
    expect(sizes.length).toBeLessThanOrEqual(steps * 1.5);
    expect(Math.max(...sizes)).toBeGreaterThanOrEqual(runs * 0.75);
  });
});
