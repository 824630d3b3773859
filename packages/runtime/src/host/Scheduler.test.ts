import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRuntime, type Runtime } from '../createRuntime.js';
import { defineMachine } from '../defineMachine.js';
import { tempDbPath } from '../testing/fixtures.js';

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
