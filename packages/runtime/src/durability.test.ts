import { spawnSync } from 'node:child_process';
import { PostgresStore } from '@spine/store-postgres';
import { SqliteStore } from '@spine/store-sqlite';
import { assign, createActor } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SimulatedClock } from './clock.js';
import { cancelRun } from './control/cancelRun.js';
import { createRuntime, type RuntimeOptions } from './createRuntime.js';
import { defineActivity, defineMachine, sendToActor, type MachineDefinition } from './defineMachine.js';
import { RetryableError, SpineError } from './errors.js';
import { MachineRegistry } from './MachineRegistry.js';
import type { Store } from './Store.js';
import { freshPostgresUrl } from '../../../test/support/postgres.js';
import { childMachine, EffectLog, orderMachine, parentMachine, tempDbPath as tempSqlitePath } from './testing/fixtures.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

// The contract holds on both stores: every test below runs on an SQLite file and on a PostgreSQL schema.
for (const kind of ['sqlite', 'postgres'] as const) describe(`durability contract on ${kind}`, () => {

/** A new database: an SQLite file, or a fresh schema on the test PostgreSQL server. */
function tempDbPath(): string {
  return kind === 'sqlite' ? tempSqlitePath() : freshPostgresUrl('durability');
}

/** Opens the store at a path or URL. (`sqlite` below names the host's store, whichever it is.) */
function openStore(path: string): Promise<Store> {
  return kind === 'sqlite' ? SqliteStore.open(path) : PostgresStore.open(path);
}

async function openHost(path: string, machines: RuntimeOptions['machines'], options: Partial<RuntimeOptions> & { wrap?: (s: Store) => Store } = {}) {
  const sqlite = await openStore(path);
  const store = options.wrap ? options.wrap(sqlite) : sqlite;
  const runtime = createRuntime({ pollIntervalMs: 10, ...options, store, machines, onError: () => {} });
  cleanup.push(async () => {
    await runtime.stop();
    await sqlite.close();
  });
  await runtime.start();
  return { runtime, sqlite };
}

/** Makes a host look dead to others, as after SIGKILL: its row names a pid that no longer exists (through Store calls). */
async function markDead(store: Store, hostId: string): Promise<void> {
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
  // A heartbeat of a known id only refreshes its time: it reads the host's row back.
  const host = (await store.heartbeat({ id: hostId, hostname: '', pid: 0, startedAt: 0, heartbeatAt: Date.now() })).hosts.find((h) => h.id === hostId)!;
  // The host's own heartbeat may land between the removal and the new row (and keep its live pid): until the dead pid holds.
  for (let tries = 0; tries < 50; tries++) {
    await store.removeHost(hostId);
    const { hosts } = await store.heartbeat({ ...host, pid: deadPid });
    if (hosts.find((h) => h.id === hostId)?.pid === deadPid) return;
  }
  throw new Error(`could not mark host ${hostId} dead`);
}

/** The store, with the id of every `getActor` call pushed to `reads`. */
function countingReads(store: Store, reads: string[]): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== 'getActor') return typeof value === 'function' ? value.bind(target) : value;
      return (id: string) => {
        reads.push(id);
        return target.getActor(id);
      };
    },
  });
}

/** Events waiting in an actor's mailbox, due or not. */
async function mailbox(store: Store, actorId: string): Promise<number> {
  return (await store.nextEvents(actorId, Number.MAX_SAFE_INTEGER, 1_000_000)).length;
}

const counter = defineMachine({
  name: 'counter',
  config: { id: 'counter', initial: 'on', states: { on: { on: { 'count.add': { actions: 'add' } } } } },
  schemas: { events: { 'count.add': z.object({ by: z.number().int() }) } },
  context: () => ({ total: 0, seen: 0 }),
  actions: {
    add: assign({ total: ({ context, event }: any) => context.total + event.by, seen: ({ context }: any) => context.seen + 1 }),
  },
});

describe('1. no lost events: each stored event is applied exactly once', () => {
  it('applies every event of concurrent senders exactly once, with contiguous step numbers', async () => {
    const path = tempDbPath();
    const a = await openHost(path, [counter], { hostId: 'A' });
    const b = await openHost(path, [counter], { hostId: 'B' });
    const { runId } = await a.runtime.startRun('counter');
    const sends: Promise<unknown>[] = [];
    for (let i = 1; i <= 150; i++) sends.push((i % 2 ? a : b).runtime.send(runId, { type: 'count.add', by: i }));
    await Promise.all(sends);
    await a.runtime.waitForRun(runId, { horizonMs: 0 });
    await b.runtime.idle();
    const actor = (await a.sqlite.getActor(runId))!;
    const context = JSON.parse(actor.snapshot!).context;
    expect(context).toEqual({ total: (150 * 151) / 2, seen: 150 });
    const seqs = (await a.sqlite.history(runId)).map((h) => h.seq);
    expect(seqs).toEqual(Array.from({ length: 151 }, (_, i) => i + 1));
    expect(await mailbox(a.sqlite, runId)).toBe(0);
  });

  it('keeps an event whose step failed to commit, and applies it once on the next attempt', async () => {
    const path = tempDbPath();
    let failNext = false;
    // No poll in between (the interval is an hour): the failed step is tried again only when the
    // test pokes the host, not behind its back before the mailbox is checked.
    const { runtime, sqlite } = await openHost(path, [counter], {
      pollIntervalMs: 3_600_000,
      wrap: (s) =>
        new Proxy(s, {
          get(target, prop, receiver) {
            if (prop === 'commitStep')
              return async (step: Parameters<Store['commitStep']>[0]) => {
                if (failNext) {
                  failNext = false;
                  throw new Error('disk I/O error (injected)');
                }
                return target.commitStep(step);
              };
            const value = Reflect.get(target, prop, receiver);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }),
    });
    const { runId } = await runtime.startRun('counter');
    await runtime.waitForRun(runId, { horizonMs: 0 });
    failNext = true;
    await runtime.send(runId, { type: 'count.add', by: 5 });
    await runtime.idle();
    expect(await mailbox(sqlite, runId)).toBe(1); // the failed step changed nothing and lost nothing
    await runtime.poke();
    await runtime.waitForRun(runId, { horizonMs: 0 });
    expect(JSON.parse((await sqlite.getActor(runId))!.snapshot!).context).toEqual({ total: 5, seen: 1 });
  });
});

describe('2. no lost state: a snapshot is committed before anything it causes is visible', () => {
  it('shows an activity the committed snapshot of the step that requested it', async () => {
    const path = tempDbPath();
    const observed: unknown[] = [];
    const reader = await openStore(path);
    cleanup.push(() => reader.close());
    const log = new EffectLog();
    const { runtime } = await openHost(path, [
      orderMachine(log, {
        onCharge: async (key) => {
          const row = (await reader.getActor(key.split(':')[0]!))!;
          const job = await reader.getJob(key);
          observed.push({ seq: row.seq, state: JSON.parse(row.stateValue!), keySeq: Number(key.split(':')[1]), jobStored: Boolean(job) });
        },
      }),
    ]);
    const { runId } = await runtime.startRun('order', { input: { customer: 'ada' } });
    await runtime.send(runId, { type: 'item.added', sku: 'A1', qty: 1 });
    await runtime.send(runId, { type: 'order.placed' });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    expect(observed).toEqual([{ seq: 3, state: 'charging', keySeq: 3, jobStored: true }]);
  });

  it('runs no activity and sends no message when the step that caused them fails to commit', async () => {
    const path = tempDbPath();
    const log = new EffectLog();
    let failCommits = true;
    const { runtime, sqlite } = await openHost(path, [orderMachine(log)], {
      wrap: (s) =>
        new Proxy(s, {
          get(target, prop, receiver) {
            if (prop === 'commitStep')
              return async (step: Parameters<Store['commitStep']>[0]) => {
                if (failCommits && step.jobs.length) throw new SpineError('storage_busy', 'crash before commit (injected): a transient failure, tried again until it passes');
                return target.commitStep(step);
              };
            const value = Reflect.get(target, prop, receiver);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }),
    });
    const { runId } = await runtime.startRun('order', { input: { customer: 'ada' } });
    await runtime.send(runId, { type: 'item.added', sku: 'A1', qty: 1 });
    await runtime.send(runId, { type: 'order.placed' });
    await runtime.idle();
    expect(log.total()).toBe(0);
    expect((await sqlite.listJobs({ runId })).length).toBe(0);
    expect(JSON.parse((await sqlite.getActor(runId))!.stateValue!)).toBe('open');
    failCommits = false;
    await runtime.poke();
    await runtime.waitForRun(runId, { horizonMs: 0 });
    expect(log.total()).toBe(1);
  });
});

describe('3. no duplicate effects', () => {
  it('never runs a completed activity again, even when its host died before applying the result', async () => {
    const path = tempDbPath();
    const log = new EffectLog();
    let dead = false;
    const a = await openHost(path, [orderMachine(log)], {
      hostId: 'A',
      wrap: (s) =>
        new Proxy(s, {
          get(target, prop, receiver) {
            // After the activity's result is journaled, host A "dies": it commits nothing more, neither
            // the step nor (after that failed twice) the step's end or the event's discard.
            if (prop === 'commitStep' || prop === 'discardEvent' || prop === 'recordDeadLetters')
              return async (...args: unknown[]) => {
                if (dead) throw new Error('host A is dead');
                return (target[prop] as (...a: unknown[]) => Promise<unknown>)(...args);
              };
            if (prop === 'completeJob')
              return async (c: Parameters<Store['completeJob']>[0]) => {
                const r = await target.completeJob(c);
                dead = true;
                return r;
              };
            // A result and the step it causes commit together: A journals the result
            // (it waits in the mailbox, as when its step is refused) and dies before the step.
            if (prop === 'commitBatch' && target.commitBatch)
              return async (entries: Parameters<NonNullable<Store['commitBatch']>>[0]) => {
                if (dead) throw new Error('host A is dead');
                const results = await target.commitBatch!(entries.map((e) => (e.completion ? { completion: e.completion } : e)));
                if (entries.some((e) => e.completion)) dead = true;
                return results.map((r, i) => (r.ok && entries[i]!.completion && entries[i]!.step ? { ok: false as const, reason: 'queued' as const } : r));
              };
            const value = Reflect.get(target, prop, receiver);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }),
    });
    const { runId } = await a.runtime.startRun('order', { input: { customer: 'ada' } });
    await a.runtime.send(runId, { type: 'item.added', sku: 'A1', qty: 3 });
    await a.runtime.send(runId, { type: 'order.placed' });
    await a.runtime.idle();
    expect(log.total()).toBe(1);
    expect(JSON.parse((await a.sqlite.getActor(runId))!.stateValue!)).toBe('charging');
    await markDead(a.sqlite, 'A');
    const b = await openHost(path, [orderMachine(log)], { hostId: 'B' });
    const outcome = await b.runtime.waitForRun(runId, { horizonMs: 0 });
    expect(outcome).toMatchObject({ status: 'waiting', state: 'paid' });
    expect(log.total()).toBe(1);
    expect((await b.sqlite.listJobs({ runId }))[0]).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('re-runs an activity in flight at a crash once, with the same idempotency key', async () => {
    const path = tempDbPath();
    const log = new EffectLog();
    let release!: () => void;
    log.gate = new Promise<void>((resolve) => (release = resolve));
    // A clock that stands still: the order's 1 s timeout after 'paid' never fires, however slow the machine.
    const clock = new SimulatedClock();
    const a = await openHost(path, [orderMachine(log)], { hostId: 'A', clock });
    const { runId } = await a.runtime.startRun('order', { input: { customer: 'bo' } });
    await a.runtime.send(runId, { type: 'item.added', sku: 'B', qty: 1 });
    await a.runtime.send(runId, { type: 'order.placed' });
    await expect.poll(() => log.total()).toBe(1);
    await markDead(a.sqlite, 'A'); // A is killed while the charge is in flight
    const b = await openHost(path, [orderMachine(log)], { hostId: 'B', clock });
    await expect.poll(() => log.total()).toBe(2);
    release();
    const outcome = await b.runtime.waitForRun(runId, { horizonMs: 0 });
    expect(outcome).toMatchObject({ status: 'waiting', state: 'paid' });
    expect([...log.calls.entries()]).toEqual([[`${runId}:3:0`, 2]]);
    const job = (await b.sqlite.listJobs({ runId }))[0]!;
    expect(job).toMatchObject({ status: 'done', attempts: 2, owner: 'B' });
    expect(JSON.parse((await b.sqlite.getActor(runId))!.snapshot!).context.receipt).toBe('r-bo-1');
    expect((await b.sqlite.history(runId)).filter((h) => h.eventType.startsWith('xstate.done.actor')).length).toBe(1);
  });
});

describe('5. durable time', () => {
  it('fires a timer that came due while no host was running, right after a host starts', async () => {
    const path = tempDbPath();
    const clock = new SimulatedClock();
    const log = new EffectLog();
    const a = await openHost(path, [orderMachine(log)], { clock });
    const { runId } = await a.runtime.startRun('order', { input: { customer: 'cy' } });
    await a.runtime.send(runId, { type: 'item.added', sku: 'C', qty: 1 });
    await a.runtime.send(runId, { type: 'order.placed' });
    expect(await a.runtime.waitForRun(runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting', state: 'paid', nextWakeAt: clock.now() + 1000 });
    await a.runtime.stop();
    clock.advance(60_000);
    const b = await openHost(path, [orderMachine(log)], { clock });
    expect(await b.runtime.waitForRun(runId)).toMatchObject({ status: 'done', output: { receipt: 'r-cy-1' } });
    expect(JSON.parse((await b.sqlite.getActor(runId))!.stateValue!)).toBe('expired');
  });

  it('deletes a pending timer when the state that scheduled it is left', async () => {
    const path = tempDbPath();
    const clock = new SimulatedClock();
    const { runtime, sqlite } = await openHost(path, [orderMachine(new EffectLog())], { clock });
    const { runId } = await runtime.startRun('order', { input: { customer: 'di' } });
    await runtime.send(runId, { type: 'item.added', sku: 'D', qty: 1 });
    await runtime.send(runId, { type: 'order.placed' });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    expect(await mailbox(sqlite, runId)).toBe(1);
    await runtime.send(runId, { type: 'order.shipped', carrier: 'post' });
    expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done' });
    expect(await mailbox(sqlite, runId)).toBe(0);
    expect(JSON.parse((await sqlite.getActor(runId))!.stateValue!)).toBe('shipped');
  });

  it('keeps a durable back-off across a restart and waits only for what is left of it', async () => {
    const path = tempDbPath();
    const clock = new SimulatedClock();
    let calls = 0;
    const flaky = defineMachine({
      name: 'flaky',
      config: { id: 'flaky', initial: 'calling', states: { calling: { invoke: { id: 'call', src: 'call', onDone: 'ok' } }, ok: { type: 'final' } } },
      schemas: {},
      activities: {
        call: defineActivity({
          async run() {
            calls += 1;
            if (calls === 1) throw new RetryableError('429 rate limited', { retryAfterMs: 60_000, kind: 'rate_limit' });
            return 'fine';
          },
        }),
      },
    });
    const a = await openHost(path, [flaky], { clock });
    const { runId } = await a.runtime.startRun('flaky');
    const waiting = await a.runtime.waitForRun(runId, { horizonMs: 0 });
    expect(waiting).toMatchObject({ status: 'waiting', nextWakeAt: clock.now() + 60_000 });
    await a.runtime.stop();
    clock.advance(30_000);
    const b = await openHost(path, [flaky], { clock });
    expect(await b.runtime.waitForRun(runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting', nextWakeAt: clock.now() + 30_000 });
    expect(calls).toBe(1);
    clock.advance(30_000);
    await b.runtime.poke();
    expect(await b.runtime.waitForRun(runId)).toMatchObject({ status: 'done' });
    const job = (await b.sqlite.listJobs({ runId }))[0]!;
    expect(JSON.parse(job.journal).map((e: { outcome: string }) => e.outcome)).toEqual(['retry', 'ok']);
  });
});

describe('6. typed handoffs', () => {
  it('refuses an event that fails its schema, names the fields, dead-letters it and leaves the actor untouched', async () => {
    const { runtime, sqlite } = await openHost(tempDbPath(), [orderMachine(new EffectLog())]);
    const { runId } = await runtime.startRun('order', { input: { customer: 'ed' } });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    const before = await sqlite.getActor(runId);
    const error = await runtime.send(runId, { type: 'item.added', sku: '', qty: -2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpineError);
    expect((error as SpineError).code).toBe('invalid_event');
    expect((error as SpineError).issues!.map((i) => i.path)).toEqual(['sku', 'qty']);
    expect((error as SpineError).message).toMatch(/sku: .*; qty: /);
    await expect(runtime.send(runId, { type: 'order.teleported' })).rejects.toThrow(/unknown event type 'order.teleported'; accepted: item.added, order.placed, order.shipped/);
    await expect(runtime.send(runId, { type: 'xstate.done.actor.charge', output: {} })).rejects.toThrow(/reserved/);
    await runtime.idle();
    expect(await sqlite.getActor(runId)).toEqual(before);
    expect(await mailbox(sqlite, runId)).toBe(0);
    const letters = await sqlite.listDeadLetters(runId);
    expect(letters.map((l) => JSON.parse(l.event).type)).toEqual(['item.added', 'order.teleported', 'xstate.done.actor.charge']);
    expect(JSON.parse(letters[0]!.issues!)).toHaveLength(2);
  });

  it('refuses an oversized event with the limit named', async () => {
    const { runtime } = await openHost(tempDbPath(), [orderMachine(new EffectLog())], { maxEventBytes: 1000 });
    const { runId } = await runtime.startRun('order', { input: { customer: 'fy' } });
    await expect(runtime.send(runId, { type: 'item.added', sku: 'x'.repeat(2000), qty: 1 })).rejects.toThrow(/limit is 1000/);
  });

  it('refuses a handoff between actors at the receiving mailbox and tells the sender', async () => {
    const receiver = defineMachine({
      name: 'receiver',
      config: { id: 'receiver', initial: 'idle', states: { idle: { on: { 'draft.ready': 'got' } }, got: { type: 'final' } } },
      schemas: { events: { 'draft.ready': z.object({ words: z.number().int().positive() }) } },
    });
    const sender = defineMachine({
      name: 'sender',
      config: {
        id: 'sender',
        initial: 'working',
        states: {
          working: {
            invoke: { id: 'rx', src: 'receiver' },
            entry: 'handOff',
            on: { 'spine.delivery.refused': { target: 'refused', actions: 'noteRefusal' } },
          },
          refused: { type: 'final' },
        },
      },
      schemas: {},
      context: () => ({ refusal: null }),
      actions: {
        handOff: sendToActor('rx', { type: 'draft.ready', words: -3 }),
        noteRefusal: assign({ refusal: ({ event }: any) => event.issues }),
      },
      output: ({ context }: any) => context.refusal,
    });
    const { runtime, sqlite } = await openHost(tempDbPath(), [receiver, sender]);
    const { runId } = await runtime.startRun('sender');
    const outcome = await runtime.waitForRun(runId);
    if (outcome.status === 'error') throw new Error(outcome.error);
    expect(outcome).toMatchObject({ status: 'done', output: [{ path: 'words' }] });
    const letters = await sqlite.listDeadLetters(`${runId}/rx`);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.reason).toMatch(/words/);
    expect((await sqlite.getActor(`${runId}/rx`))!.status).toBe('stopped');
    // The stop is a recorded step of the child, visible to timelines and other processes.
    const last = (await sqlite.history(`${runId}/rx`)).at(-1)!;
    expect(last).toMatchObject({ eventType: 'xstate.stop', status: 'stopped', seq: (await sqlite.getActor(`${runId}/rx`))!.seq });
  });
});

describe('7. versioned machines', () => {
  it('keeps a run on the version it started on after the machine changes', async () => {
    const path = tempDbPath();
    const log = new EffectLog();
    const v1 = orderMachine(log);
    const a = await openHost(path, [v1]);
    const { runId, version: first } = await a.runtime.startRun('order', { input: { customer: 'gu' } });
    await a.runtime.waitForRun(runId, { horizonMs: 0 });
    await a.runtime.stop();

    const v2: MachineDefinition = { ...v1, config: structuredClone(v1.config), schemas: { ...v1.schemas, events: { ...v1.schemas.events, 'order.cancelled': z.object({}) } } };
    (v2.config.states as any).open.on['order.cancelled'] = 'cancelled';
    (v2.config.states as any).cancelled = { type: 'final' };
    const b = await openHost(path, [v2]);
    const { runId: newer, version: second } = await b.runtime.startRun('order', { input: { customer: 'hi' } });
    expect(second).not.toBe(first);
    await b.runtime.send(runId, { type: 'item.added', sku: 'G', qty: 1 });
    await b.runtime.send(runId, { type: 'order.placed' });
    await b.runtime.send(runId, { type: 'order.cancelled' }); // accepted by the schema, but v1 has no such transition
    expect(await b.runtime.waitForRun(runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting', state: 'paid' });
    expect(new Set((await b.sqlite.history(runId)).map((h) => h.version))).toEqual(new Set([first]));
    await b.runtime.send(newer, { type: 'order.cancelled' });
    expect(await b.runtime.waitForRun(newer)).toMatchObject({ status: 'done' });
    expect((await b.sqlite.getActor(newer))!.version).toBe(second);
  });
});

describe('run starts', () => {
  it('refuses a run id that is taken with a conflict naming it, and leaves the first run as it was', async () => {
    const { runtime, sqlite } = await openHost(tempDbPath(), [counter]);
    await runtime.startRun('counter', { runId: 'taken' });
    await runtime.send('taken', { type: 'count.add', by: 2 });
    await runtime.waitForRun('taken', { horizonMs: 0 });
    const before = (await sqlite.getActor('taken'))!;
    const refused = await runtime.startRun('counter', { runId: 'taken' }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SpineError);
    expect(refused).toMatchObject({ code: 'conflict', message: "A run with id 'taken' already exists." });
    // Two starts of one id in the same turn: one run, one refusal.
    const twice = await Promise.allSettled([runtime.startRun('counter', { runId: 'twice' }), runtime.startRun('counter', { runId: 'twice' })]);
    expect(twice.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    await runtime.waitForRun('twice', { horizonMs: 0 });
    expect(await sqlite.getActor('taken')).toEqual(before);
    expect(await mailbox(sqlite, 'taken')).toBe(0);
    expect((await sqlite.runHistory('twice')).map((row) => row.seq)).toEqual([1]);
  });

  it('steps a run it started without reading the new actor back', async () => {
    const reads: string[] = [];
    const { runtime } = await openHost(tempDbPath(), [counter], {
      wrap: (store) => countingReads(store, reads),
    });
    const stepped = new Promise<number>((resolve) => runtime.onStep(({ actor, history }) => actor.id === 'fresh' && resolve(history.seq)));
    await runtime.startRun('counter', { runId: 'fresh' });
    expect(await stepped).toBe(1);
    expect(reads.filter((id) => id === 'fresh')).toEqual([]);
  });

  it('sends to a run it holds without reading its actor, and refuses a send to a run that ended behind its back', async () => {
    const reads: string[] = [];
    const path = tempDbPath();
    const { runtime, sqlite } = await openHost(path, [counter], {
      wrap: (store) => countingReads(store, reads),
    });
    await runtime.startRun('counter', { runId: 'held' });
    await runtime.waitForRun('held', { horizonMs: 0 });
    reads.length = 0;
    const { eventId } = await runtime.send('held', { type: 'count.add', by: 2 });
    expect(eventId).toEqual(expect.any(Number));
    expect(reads).toEqual([]);
    await runtime.waitForRun('held', { horizonMs: 0 });
    expect((await sqlite.getActor('held'))!.seq).toBe(2);
    // Cancelled through another connection (as by `spine cancel` in another process) while this host still holds the run in memory.
    const other = await openStore(path);
    cleanup.push(() => other.close());
    expect(await cancelRun('held', { store: other, reason: 'not needed' })).toEqual(['held']);
    const refused = await runtime.send('held', { type: 'count.add', by: 3 }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'invalid_event', message: "Actor 'held' is stopped; it accepts no more events." });
    expect(await mailbox(sqlite, 'held')).toBe(0);
    expect((await sqlite.listDeadLetters('held')).map((d) => d.reason)).toEqual(["Actor 'held' is stopped; it accepts no more events."]);
  });
});

describe('persistable machines', () => {
  it('round-trips every snapshot of the fixture machines through JSON unchanged', async () => {
    const log = new EffectLog();
    const machines = [orderMachine(log), parentMachine, childMachine];
    const { runtime, sqlite } = await openHost(tempDbPath(), machines);
    const { runId } = await runtime.startRun('order', { input: { customer: 'jo' } });
    await runtime.send(runId, { type: 'item.added', sku: 'J', qty: 1 });
    await runtime.send(runId, { type: 'order.placed' });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    await runtime.send(runId, { type: 'order.shipped', carrier: 'post' });
    const { runId: parentRun } = await runtime.startRun('parent');
    await runtime.waitForRun(parentRun, { horizonMs: 0 });
    await runtime.send(`${parentRun}/worker`, { type: 'work.finish', note: '' });
    await runtime.waitForRun(parentRun);
    const registry = new MachineRegistry();
    machines.forEach((m) => registry.register(m));
    const rows = [...(await sqlite.runHistory(runId)), ...(await sqlite.runHistory(parentRun))];
    expect(rows.length).toBeGreaterThan(8);
    for (const row of rows) {
      const actor = (await sqlite.getActor(row.actorId))!;
      const { machine } = registry.machine(actor.machine);
      const restored = createActor(machine, { snapshot: JSON.parse(row.snapshot) }).getSnapshot();
      expect(JSON.stringify(machine.getPersistedSnapshot(restored))).toBe(row.snapshot);
    }
  });
});

});
