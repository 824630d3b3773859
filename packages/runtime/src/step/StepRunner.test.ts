import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { assign, emit } from 'xstate';
import { z } from 'zod';
import { createRuntime, type Runtime, type RuntimeOptions } from '../createRuntime.js';
import { defineActivity, defineMachine, type MachineDefinition } from '../defineMachine.js';
import { SpineError } from '../errors.js';
import type { Store, StepCommit } from '../Store.js';
import { tempDbPath, untilAborted } from '../testing/fixtures.js';

// A step that fails the same way twice ends with the reason (the actor in `error`, or its
// event dead-lettered), whatever kind of error it is; only storage failures are left to the host.

const open: { runtime: Runtime; sqlite: SqliteStore }[] = [];
afterEach(async () => {
  for (const { runtime, sqlite } of open.splice(0)) {
    await runtime.stop();
    await sqlite.close();
  }
});

async function host(machines: MachineDefinition[], options: Partial<RuntimeOptions> & { wrap?: (store: SqliteStore) => Store } = {}) {
  const sqlite = await SqliteStore.open(tempDbPath());
  const { wrap, ...rest } = options;
  const errors: string[] = [];
  const runtime = createRuntime({ store: wrap ? wrap(sqlite) : sqlite, machines, pollIntervalMs: 10, onError: (error) => errors.push(error.message), ...rest });
  open.push({ runtime, sqlite });
  await runtime.start();
  return { runtime, sqlite, errors };
}

/** A store whose method `name` runs `replace` instead (which may call the real one). */
function intercept<K extends keyof Store>(name: K, replace: (real: Store[K], ...args: Parameters<Store[K] & ((...a: never[]) => unknown)>) => unknown) {
  return (store: SqliteStore): Store =>
    new Proxy(store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        const real = value.bind(target);
        return prop === name ? (...args: never[]) => (replace as (...a: unknown[]) => unknown)(real, ...args) : real;
      },
    }) as Store;
}

const go = { events: { go: z.object({}) } };
const simple = defineMachine({ name: 'm', config: { initial: 'a', states: { a: { on: { go: 'b' } }, b: {} } }, schemas: go });

describe('a step that keeps failing ends with the reason', () => {
  it('ends a step whose commit throws an error that is no constraint the same way twice: actor in error, event dead-lettered, both with the reason', async () => {
    let attempts = 0;
    const wrap = intercept('commitStep', async (real, step: StepCommit) => {
      if (step.history.eventType === 'go' && step.status === 'active') {
        attempts++;
        throw new TypeError('SQLite3 can only bind numbers, strings, bigints, buffers, and null');
      }
      return real(step);
    });
    const { runtime } = await host([simple], { wrap });
    const { runId } = await runtime.startRun('m');
    await runtime.send(runId, { type: 'go' });
    const outcome = await runtime.waitForRun(runId, { horizonMs: 5000 });
    expect(attempts).toBe(2);
    expect(outcome).toMatchObject({ status: 'error' });
    const actor = (await runtime.store.getActor(runId))!;
    expect(actor.error).toContain('failed twice with: SQLite3 can only bind');
    expect(JSON.parse(actor.stateValue!)).toBe('a');
    const letters = await runtime.store.listDeadLetters(runId);
    expect(letters.map((l) => [JSON.parse(l.event).type, l.source])).toEqual([['go', 'external']]);
    expect(letters[0]!.reason).toContain('failed twice with: SQLite3 can only bind');
    expect((await runtime.store.history(runId)).map((h) => [h.eventType, h.status])).toEqual([
      ['xstate.init', 'active'],
      ['go', 'error'],
    ]);
  });

  it('ends a step that fails a different way each time after a bounded number of attempts', async () => {
    let attempts = 0;
    const wrap = intercept('commitStep', async (real, step: StepCommit) => {
      if (step.history.eventType === 'go' && step.status === 'active') throw new Error(`attempt ${++attempts} failed`);
      return real(step);
    });
    const { runtime } = await host([simple], { wrap });
    const { runId } = await runtime.startRun('m');
    await runtime.send(runId, { type: 'go' });
    expect(await runtime.waitForRun(runId, { horizonMs: 5000 })).toMatchObject({ status: 'error' });
    expect(attempts).toBe(5);
    expect((await runtime.store.getActor(runId))!.error).toContain('failed 5 times, last with: attempt 5 failed');
  });

  it('ends a step whose reads throw (a thrown plan), and dead-letters the event alone when ending it fails too', async () => {
    // A step that finishes an actor with a delayed send waiting reads its open work (the host does not follow what
    // becomes of a stored send): make that read fail for good.
    const machine = defineMachine({ name: 'm', config: { initial: 'a', states: { a: { after: { 60_000: 'end' }, on: { go: 'end' } }, end: { type: 'final' } } }, schemas: go });
    let reads = 0;
    const wrap = intercept('openWorkOf', async () => {
      reads++;
      throw new RangeError('broken read');
    });
    const { runtime } = await host([machine], { wrap });
    const { runId } = await runtime.startRun('m');
    await runtime.waitForRun(runId, { horizonMs: 0 });
    await runtime.send(runId, { type: 'go' });
    await expect.poll(async () => (await runtime.store.listDeadLetters(runId)).length, { timeout: 5000 }).toBe(1);
    const [letter] = await runtime.store.listDeadLetters(runId);
    expect(letter!.reason).toMatch(/failed twice with: broken read; ending the step failed too: broken read/);
    expect(reads).toBe(3);
    // The actor is as it was, its mailbox holding only its delayed event: nothing is retried.
    expect(await runtime.store.getActor(runId)).toMatchObject({ status: 'active', seq: 1 });
    expect((await runtime.store.nextEvents(runId, Number.MAX_SAFE_INTEGER, 10)).map((e) => e.source)).toEqual([runId]);
  });

  it('puts an actor whose emitted event holds a BigInt in error with the reason, instead of retrying forever', async () => {
    const machine = defineMachine({ name: 'm', config: { initial: 'a', states: { a: { on: { go: { actions: 'shout' } } } } }, schemas: go, actions: { shout: emit({ type: 'big', n: 10n }) } });
    let commits = 0;
    const wrap = intercept('commitStep', async (real, step: StepCommit) => {
      if (step.history.eventType === 'go') commits++;
      return real(step);
    });
    const { runtime, errors } = await host([machine], { wrap });
    const { runId } = await runtime.startRun('m');
    await runtime.send(runId, { type: 'go' });
    expect(await runtime.waitForRun(runId, { horizonMs: 5000 })).toMatchObject({ status: 'error' });
    expect((await runtime.store.getActor(runId))!.error).toMatch(/serialize a BigInt \(while applying 'go' in state "a"\)/);
    expect(commits).toBe(1);
    expect(errors).toEqual([]);
  });

  it.each([
    ['a BigInt', () => ({ n: 10n }), /The context value at context\.n is a BigInt, which a durable snapshot cannot keep/],
    ['a cycle', () => { const o: Record<string, unknown> = {}; o.self = o; return { o }; }, /cannot be stored: it holds a cycle/],
  ])('puts an actor whose context becomes %s in error with a reason that says what cannot be stored', async (_, value, reason) => {
    const machine = defineMachine({ name: 'm', config: { initial: 'a', context: {}, states: { a: { on: { go: { target: 'b', actions: 'set' } } }, b: {} } }, schemas: go, context: () => ({}), actions: { set: assign(value) } });
    const { runtime } = await host([machine]);
    const { runId } = await runtime.startRun('m');
    await runtime.send(runId, { type: 'go' });
    expect(await runtime.waitForRun(runId, { horizonMs: 5000 })).toMatchObject({ status: 'error' });
    const actor = (await runtime.store.getActor(runId))!;
    expect(actor.error).toMatch(reason);
    expect(actor.error).toMatch(/[Kk]eep/);
    // The last snapshot that could be stored is kept.
    expect(JSON.parse(actor.stateValue!)).toBe('a');
  });

  it('tries a step again while the database is busy, and never ends it for that', async () => {
    let busy = 3;
    const wrap = intercept('commitStep', async (real, step: StepCommit) => {
      if (step.history.eventType === 'go' && busy > 0) {
        busy--;
        throw new SpineError('storage_busy', 'database is locked');
      }
      return real(step);
    });
    const { runtime } = await host([simple], { wrap });
    const { runId } = await runtime.startRun('m');
    await runtime.send(runId, { type: 'go' });
    await expect.poll(async () => JSON.parse((await runtime.store.getActor(runId))!.stateValue!), { timeout: 5000 }).toBe('b');
    expect(busy).toBe(0);
    expect(await runtime.store.getActor(runId)).toMatchObject({ status: 'active', error: null });
    expect(await runtime.store.listDeadLetters(runId)).toEqual([]);
  });

  it('stops the host at a full disk, leaving the event in the mailbox and nothing dead-lettered', async () => {
    let attempts = 0;
    const wrap = intercept('commitStep', async (real, step: StepCommit) => {
      if (step.history.eventType === 'go') {
        attempts++;
        throw new SpineError('storage_full', 'The disk holding the database is full.');
      }
      return real(step);
    });
    const { runtime, sqlite } = await host([simple], { wrap });
    const { runId } = await runtime.startRun('m');
    await runtime.waitForRun(runId, { horizonMs: 0 });
    await runtime.send(runId, { type: 'go' });
    expect((await runtime.failed).code).toBe('storage_full');
    expect(attempts).toBe(1);
    expect(await sqlite.getActor(runId)).toMatchObject({ status: 'active', seq: 1 });
    expect((await sqlite.nextEvents(runId, Number.MAX_SAFE_INTEGER, 10)).map((e) => e.type)).toEqual(['go']);
    expect(await sqlite.listDeadLetters(runId)).toEqual([]);
  });
});

describe('a stop planned from stale reads', () => {
  it('stops a grandchild spawned between the parent reading its tree and committing: the commit conflicts and the step is planned again', async () => {
    const leaf = defineMachine({ name: 'leaf', config: { initial: 'a', states: { a: {} } }, schemas: {} });
    const parent = defineMachine({
      name: 'parent',
      config: { initial: 'a', states: { a: { invoke: { id: 'c', src: 'leaf' }, on: { go: 'end' } }, end: { type: 'final' } } },
      schemas: go,
    });
    let parentCommits = 0;
    let raced = false;
    const wrap = intercept('commitStep', async (real, step: StepCommit) => {
      if (step.history.eventType === 'go') {
        parentCommits++;
        if (!raced) {
          raced = true;
          // The child steps meanwhile (as another host could), spawning a grandchild.
          const child = (await store.getActor(step.stop[0]!.id))!;
          const [eventId] = await store.enqueue([{ actorId: child.id, type: 'grow', event: '{"type":"grow"}', dueAt: 0, source: 'external' }]);
          const grown = await store.commitStep({
            actorId: child.id,
            expectedSeq: child.seq,
            eventId: eventId!,
            snapshot: child.snapshot!,
            stateValue: child.stateValue!,
            status: 'active',
            output: null,
            error: null,
            history: { eventType: 'grow', event: '{"type":"grow"}', version: child.version, emitted: null, startedAt: Date.now(), durationUs: 0 },
            messages: [],
            cancelTimers: [],
            jobs: [],
            cancelJobs: [],
            spawn: [{ id: `${child.id}/g`, runId: child.runId, parentId: child.id, childKey: 'g', machine: 'leaf', version: child.version, owner: null }],
            stop: [],
            deadLetters: [],
          });
          expect(grown).toEqual({ ok: true });
        }
      }
      return real(step);
    });
    let store!: SqliteStore;
    const { runtime, sqlite } = await host([parent, leaf], { wrap: (s) => ((store = s), wrap(s)) });
    const { runId } = await runtime.startRun('parent');
    await runtime.waitForRun(runId, { horizonMs: 0 });
    await runtime.send(runId, { type: 'go' });
    expect(await runtime.waitForRun(runId, { horizonMs: 5000 })).toMatchObject({ status: 'done' });
    expect(parentCommits).toBe(2);
    expect(await sqlite.getActor(`${runId}/c`)).toMatchObject({ status: 'stopped' });
    expect(await sqlite.getActor(`${runId}/c/g`)).toMatchObject({ status: 'stopped' });
    expect(await sqlite.historyRow(`${runId}/c/g`, 1)).toMatchObject({ eventType: 'xstate.stop' });
  });

  it('cancels the pending approvals of a stopped subtree with their audit rows, through a real host', async () => {
    const risky = defineMachine({
      name: 'risky',
      config: { initial: 'pay', states: { pay: { invoke: { id: 'charge', src: 'charge', meta: { risk: 'medium' } } } } },
      schemas: {},
      activities: { charge: defineActivity({ run: async () => 1 }) },
    });
    const middle = defineMachine({ name: 'middle', config: { initial: 'a', states: { a: { invoke: { id: 'r', src: 'risky' } } } }, schemas: {} });
    const root = defineMachine({ name: 'root', config: { initial: 'a', states: { a: { invoke: { id: 'm', src: 'middle' }, on: { go: 'b' } }, b: {} } }, schemas: go });
    const { runtime } = await host([root, middle, risky]);
    const { runId } = await runtime.startRun('root');
    await runtime.waitForRun(runId, { horizonMs: 0 });
    const [approval] = await runtime.store.listApprovals({ runId, status: ['pending'] });
    expect(approval).toMatchObject({ actorId: `${runId}/m/r`, childId: 'charge' });
    await runtime.send(runId, { type: 'go' });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    expect(await runtime.store.getApproval(approval!.id)).toMatchObject({ status: 'cancelled' });
    expect(await runtime.store.getJob(approval!.jobKey)).toMatchObject({ status: 'cancelled' });
    expect((await runtime.store.listActors({ runId })).map((a) => [a.id, a.status]).sort()).toEqual([
      [runId, 'active'],
      [`${runId}/m`, 'stopped'],
      [`${runId}/m/r`, 'stopped'],
    ]);
    const cancelled = (await runtime.store.listAudit({ runId })).filter((a) => a.kind === 'approval.cancelled');
    expect(cancelled.map((a) => [a.subject, a.who, a.actorId])).toEqual([[approval!.id, 'system', `${runId}/m/r`]]);
    expect(await runtime.store.verifyAudit()).toMatchObject({ ok: true });
  });
});

describe('reads a step skips because the host wrote what they would find', () => {
  it('answers waitForRun of a run this host finished from the commit that finished it, redacted as the store keeps it', async () => {
    const secret = 'sk-test-0123456789abcdef';
    const fetcher = defineMachine({
      name: 'fetcher',
      config: { initial: 'fetching', output: ({ context }: any) => ({ got: context.got }), states: { fetching: { invoke: { id: 'fetch', src: 'fetch', onDone: { target: 'done', actions: 'keep' } } }, done: { type: 'final' } } },
      schemas: { events: {} },
      context: () => ({ got: '' }),
      actions: { keep: assign({ got: ({ event }: any) => event.output }) },
      activities: { fetch: defineActivity({ run: async () => `token ${secret}` }) },
    });
    const failing = defineMachine({
      name: 'failing',
      config: { initial: 'working', output: () => ({ reason: 'the work failed' }), states: { working: { invoke: { id: 'work', src: 'work', onError: 'failed' } }, failed: { type: 'final', meta: { outcome: 'failure' } } } },
      schemas: { events: {} },
      activities: { work: defineActivity({ run: async () => Promise.reject(new Error('no')) }) },
    });
    const roots: string[] = [];
    const wrap = intercept('getActor', (real, id: string, options?: { snapshot?: boolean }) => {
      roots.push(id);
      return real(id, options);
    });
    const { runtime } = await host([fetcher, failing], { wrap, secrets: [secret] });
    const { runId } = await runtime.startRun('fetcher');
    expect(await runtime.waitForRun(runId)).toEqual({ status: 'done', runId, output: { got: 'token [redacted]' } });
    expect(roots.filter((id) => id === runId)).toEqual([]); // driven and finished here: never read
    const failed = await runtime.startRun('failing');
    expect(await runtime.waitForRun(failed.runId)).toEqual({ status: 'error', runId: failed.runId, error: 'the work failed', output: { reason: 'the work failed' } });
    expect(roots.filter((id) => id === failed.runId)).toEqual([]);
    // Finished before anyone waited: read from the store, the same answer.
    expect(await runtime.waitForRun(runId)).toEqual({ status: 'done', runId, output: { got: 'token [redacted]' } });
    expect(roots.filter((id) => id === runId)).toEqual([runId]);
  });

  it("steps a run it started from the init event it wrote, reading no mailbox; an event sent at once is applied after it, in order", async () => {
    const counter = defineMachine({
      name: 'counter',
      config: { initial: 'on', states: { on: { on: { note: { actions: 'add' } } } } },
      schemas: { input: z.object({ first: z.string() }), events: { note: z.object({ text: z.string() }) } },
      context: (input: { first: string }) => ({ log: [input.first] }),
      actions: { add: assign({ log: ({ context, event }: any) => [...context.log, event.text] }) },
    });
    const reads: string[] = [];
    const wrap = intercept('nextEvents', (real, actorId: string, now: number, limit: number) => {
      reads.push(actorId);
      return real(actorId, now, limit);
    });
    const { runtime } = await host([counter], { wrap });
    const { runId } = await runtime.startRun('counter', { input: { first: 'init' } });
    await runtime.waitForRun(runId, { horizonMs: 0 });
    expect((await runtime.store.history(runId)).map((h) => h.eventType)).toEqual(['xstate.init']);
    expect(reads).toEqual([]);

    // Sends right after the start: stored after the init event, they are applied after its step, in
    // order (each primed when it headed the mailbox as it was stored, else read from it once kicked).
    const second = await runtime.startRun('counter', { input: { first: 'a' } });
    await runtime.send(second.runId, { type: 'note', text: 'b' });
    await runtime.send(second.runId, { type: 'note', text: 'c' });
    await runtime.waitForRun(second.runId, { horizonMs: 0 });
    expect(JSON.parse((await runtime.store.getActor(second.runId))!.snapshot!).context.log).toEqual(['a', 'b', 'c']);
    expect((await runtime.store.history(second.runId)).map((h) => h.eventType)).toEqual(['xstate.init', 'note', 'note']);
    expect(await runtime.store.nextEvents(second.runId, Date.now() + 1000, 10)).toEqual([]);
  });

  it('steps a send that headed the mailbox without reading it, and reads the mailbox after it when more came before the drain (no poll to fall back on)', async () => {
    const noted = defineMachine({
      name: 'noted',
      config: { initial: 'working', states: { working: { invoke: { id: 'work', src: 'work', onDone: 'listening' } }, listening: { on: { note: { actions: 'add' } } } } },
      schemas: { events: { note: z.object({ text: z.string() }) } },
      context: () => ({ log: [] as string[] }),
      actions: { add: assign({ log: ({ context, event }: any) => [...context.log, event.text] }) },
      activities: { work: defineActivity({ run: async () => 'ok' }) },
    });
    // The commit applying the activity's result holds the run's drain (after it committed) until
    // the test has sent two notes: the first heads the mailbox and is primed, the second is not.
    let reach!: () => void;
    const reached = new Promise<void>((resolve) => (reach = resolve));
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const reads: string[] = [];
    const wrap = (store: SqliteStore): Store =>
      new Proxy(store, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (typeof value !== 'function') return value;
          if (prop === 'nextEvents') return (...args: [string, number, number]) => (reads.push(args[0]), value.apply(target, args));
          if (prop === 'commitBatch')
            return async (entries: { completion?: unknown }[]) => {
              const result = await value.call(target, entries);
              if (entries.some((e) => e.completion)) {
                reach();
                await opened;
              }
              return result;
            };
          return value.bind(target);
        },
      }) as Store;
    const { runtime } = await host([noted], { wrap, pollIntervalMs: 3_600_000 });
    const { runId } = await runtime.startRun('noted');
    await reached;
    await runtime.send(runId, { type: 'note', text: 'first' });
    await runtime.send(runId, { type: 'note', text: 'second' });
    open();
    await expect.poll(async () => JSON.parse((await runtime.store.getActor(runId))!.snapshot!).context.log, { timeout: 5000 }).toEqual(['first', 'second']);
    expect(reads).toEqual([runId]); // once, after the primed note, for the second

    // Alone: a note that heads the mailbox is stepped with no read at all.
    await runtime.send(runId, { type: 'note', text: 'third' });
    await expect.poll(async () => JSON.parse((await runtime.store.getActor(runId))!.snapshot!).context.log, { timeout: 5000 }).toEqual(['first', 'second', 'third']);
    expect(reads).toEqual([runId]);
  });

  it("finishes an actor whose open work it followed without reading it: a job still running is cancelled and its attempt stopped", async () => {
    let aborted = false;
    const race = defineMachine({
      name: 'race',
      config: {
        initial: 'both',
        states: {
          both: {
            type: 'parallel',
            states: {
              quick: { invoke: { id: 'quick', src: 'quick', onDone: '#race.won' } },
              slow: { invoke: { id: 'slow', src: 'slow' } },
            },
          },
          won: { id: 'won', type: 'final' },
        },
        id: 'race',
      },
      schemas: {},
      activities: {
        quick: defineActivity({ run: async () => 'first' }),
        slow: untilAborted(() => (aborted = true)),
      },
    });
    const reads: string[][] = [];
    const wrap = intercept('openWorkOf', (real, ids: string[]) => {
      reads.push(ids);
      return real(ids);
    });
    const { runtime } = await host([race], { wrap });
    const { runId } = await runtime.startRun('race');
    expect(await runtime.waitForRun(runId, { horizonMs: 5000 })).toMatchObject({ status: 'done' });
    expect(reads).toEqual([]);
    const jobs = await runtime.store.listJobs({ runId });
    expect(jobs.map((j) => [j.childId, j.status]).sort()).toEqual([
      ['quick', 'done'],
      ['slow', 'cancelled'],
    ]);
    await expect.poll(() => aborted, { timeout: 5000 }).toBe(true);
  });

  it('reads the open work of an actor it read back from the store (another host created it) before finishing it', async () => {
    const waiting = defineMachine({
      name: 'waiting',
      config: { initial: 'a', states: { a: { invoke: { id: 'slow', src: 'slow' }, on: { go: 'end' } }, end: { type: 'final' } } },
      schemas: go,
      activities: { slow: untilAborted() },
    });
    const reads: string[][] = [];
    const wrap = intercept('openWorkOf', (real, ids: string[]) => {
      reads.push(ids);
      return real(ids);
    });
    const first = await host([waiting]);
    const { runId } = await first.runtime.startRun('waiting');
    await expect.poll(async () => (await first.sqlite.listJobs({ runId })).map((j) => j.status), { timeout: 5000 }).toEqual(['running']);
    await first.runtime.stop(); // hands the run and its job back

    const path = first.sqlite.path;
    const sqlite = await SqliteStore.open(path);
    const runtime = createRuntime({ store: wrap(sqlite), machines: [waiting], pollIntervalMs: 10, onError: () => {} });
    open.push({ runtime, sqlite });
    await runtime.start();
    await expect.poll(async () => (await sqlite.listJobs({ runId })).map((j) => [j.status, j.attempts]), { timeout: 5000 }).toEqual([['running', 2]]);
    await runtime.send(runId, { type: 'go' });
    expect(await runtime.waitForRun(runId, { horizonMs: 5000 })).toMatchObject({ status: 'done' });
    expect(reads).toEqual([[runId]]);
    expect((await sqlite.listJobs({ runId })).map((j) => j.status)).toEqual(['cancelled']);
  });
});

describe("an activity's abort signal, made when first read", () => {
  it('gives an activity that reads its signal only after the invoking state was left a signal aborted with the reason', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let seen: { aborted: boolean; reason: unknown } | undefined;
    const late = defineMachine({
      name: 'late',
      config: { initial: 'a', states: { a: { invoke: { id: 'work', src: 'work' }, on: { go: 'b' } }, b: { on: { go: 'end' } }, end: { type: 'final' } } },
      schemas: go,
      activities: {
        work: defineActivity({
          run: async (_input: unknown, ctx) => {
            await gate;
            seen = { aborted: ctx.signal.aborted, reason: (ctx.signal.reason as Error | undefined)?.message };
            return 'too late';
          },
        }),
      },
    });
    const { runtime } = await host([late]);
    const { runId } = await runtime.startRun('late');
    await runtime.send(runId, { type: 'go' });
    await expect.poll(async () => (await runtime.store.getActor(runId))?.stateValue, { timeout: 5000 }).toBe('"b"');
    release();
    await expect.poll(() => seen, { timeout: 5000 }).toEqual({ aborted: true, reason: 'The invoking state was left.' });
    expect((await runtime.store.listJobs({ runId })).map((j) => j.status)).toEqual(['cancelled']);
    await runtime.send(runId, { type: 'go' });
    expect(await runtime.waitForRun(runId, { horizonMs: 5000 })).toMatchObject({ status: 'done' });
  });
});
