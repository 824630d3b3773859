import Database from 'better-sqlite3';
import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createRuntime } from '../createRuntime.js';
import { defineMachine } from '../defineMachine.js';
import { tempDbPath, untilAborted } from '../testing/fixtures.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Registers the host the actor is handed to, with a lease that outlasts the test (an owner with no `hosts` row would be taken back at once). */
async function liveHost(store: SqliteStore, id: string): Promise<void> {
  await store.heartbeat({ id, hostname: 'elsewhere', pid: 1, startedAt: Date.now(), heartbeatAt: Date.now() }, 600_000);
}

/**
 * A machine whose custom action hands its own actor to another host while the step is being
 * planned (a takeover between a paused host's plan and its commit), through a second connection.
 */
function stealingMachine(path: string) {
  return defineMachine({
    name: 'stolen',
    config: { id: 'stolen', initial: 'idle', states: { idle: { on: { go: { target: 'gone', actions: 'takenOver' } } }, gone: {} } },
    schemas: { events: { go: z.object({}) } },
    actions: {
      takenOver: () => {
        const other = new Database(path);
        try {
          other.prepare("UPDATE actors SET owner = 'host-b', owner_epoch = owner_epoch + 1 WHERE id = ?").run('stolen-run');
        } finally {
          other.close();
        }
      },
    },
  });
}

describe('a host whose actor was taken over', () => {
  it('cannot commit its step: the commit is fenced, nothing is written, and the refusal is on stderr and in the audit log', async () => {
    const path = tempDbPath();
    const store = await SqliteStore.open(path);
    const runtime = createRuntime({ store, machines: [stealingMachine(path)], hostId: 'host-a', pollIntervalMs: 20, newRunId: () => 'stolen-run' });
    cleanup.push(async () => {
      await runtime.stop();
      await store.close();
    });
    const stderr: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (stderr.push(String(chunk)), true));
    await runtime.start();
    const { runId } = await runtime.startRun('stolen');
    expect(await runtime.waitForRun(runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting', state: 'idle' });
    const before = (await store.getActor(runId))!;
    expect(before).toMatchObject({ owner: 'host-a' });

    await liveHost(store, 'host-b');
    await store.enqueue([{ actorId: runId, type: 'go', event: '{"type":"go"}', dueAt: Date.now(), source: 'external' }]);
    await runtime.poke();
    await runtime.idle();
    await vi.waitFor(async () => expect((await store.listAudit({ runId })).map((a) => a.kind)).toContain('host.fenced'), { timeout: 5000 });

    // Nothing of host-a's step was written: same seq and state, its event still waits for the new owner.
    expect(await store.getActor(runId)).toMatchObject({ seq: before.seq, stateValue: '"idle"', owner: 'host-b', ownerEpoch: before.ownerEpoch + 1 });
    expect((await store.nextEvents(runId, Number.MAX_SAFE_INTEGER, 10)).map((e) => e.type)).toEqual(['go']);
    expect(await store.history(runId)).toHaveLength(before.seq);
    expect(stderr.join('')).toMatch(/spine: host host-a: host\.fenced stolen-run \(run stolen-run\): step of event go: the actor is owned by another host now/);
    expect((await store.listAudit({ runId })).filter((a) => a.kind === 'host.fenced')).toEqual([expect.objectContaining({ who: 'host-a', actorId: runId, subject: runId })]);
    // It let go: later scans leave the actor to its owner (no retry loop, no second refusal).
    await runtime.poke();
    await runtime.idle();
    expect((await store.listAudit({ runId })).filter((a) => a.kind === 'host.fenced')).toHaveLength(1);
  });

  it('aborts its attempt of the taken-over actor and hands the job back (pending, same key) when the job is still its own', async () => {
    const path = tempDbPath();
    const store = await SqliteStore.open(path);
    let aborted = false;
    const machine = defineMachine({
      name: 'stolen',
      config: {
        id: 'stolen',
        initial: 'working',
        states: { working: { invoke: { id: 'slow', src: 'slow' }, on: { ping: { actions: 'takenOver' } } } },
      },
      schemas: { events: { ping: z.object({}) } },
      actions: {
        takenOver: () => {
          const other = new Database(path);
          try {
            other.prepare("UPDATE actors SET owner = 'host-b', owner_epoch = owner_epoch + 1 WHERE id = 'stolen-run'").run();
          } finally {
            other.close();
          }
        },
      },
      activities: {
        slow: untilAborted(() => (aborted = true)),
      },
    });
    const runtime = createRuntime({ store, machines: [machine], hostId: 'host-a', pollIntervalMs: 20, newRunId: () => 'stolen-run' });
    cleanup.push(async () => {
      await runtime.stop();
      await store.close();
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await runtime.start();
    const { runId } = await runtime.startRun('stolen');
    await vi.waitFor(async () => expect(await store.listJobs({ runId })).toEqual([expect.objectContaining({ status: 'running', owner: 'host-a', attempts: 1 })]), { timeout: 5000 });
    const [job] = await store.listJobs({ runId });

    await liveHost(store, 'host-b');
    await store.enqueue([{ actorId: runId, type: 'ping', event: '{"type":"ping"}', dueAt: Date.now(), source: 'external' }]);
    await runtime.poke();
    await vi.waitFor(async () => expect(await store.getJob(job!.key)).toMatchObject({ status: 'pending', owner: null, attempts: 1 }), { timeout: 5000 });
    expect(aborted).toBe(true);
    expect((await store.listAudit({ runId })).map((a) => a.kind)).toEqual(['host.fenced']);
    // The new owner's claim takes it as the next attempt of the same key.
    expect(await store.claimJob(job!.key, 'host-b', Date.now(), [])).toMatchObject({ key: job!.key, owner: 'host-b', attempts: 2 });
  });
});
