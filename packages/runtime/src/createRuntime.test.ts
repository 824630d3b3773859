import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { assign } from 'xstate';
import { z } from 'zod';
import { defineActivity, defineMachine } from './defineMachine.js';
import { createRuntime, type Runtime } from './createRuntime.js';
import { childMachine, EffectLog, orderMachine, parentMachine, tempDbPath } from './testing/fixtures.js';

const open: Runtime[] = [];
afterEach(async () => {
  for (const runtime of open.splice(0)) {
    await runtime.stop();
    await runtime.store.close();
  }
});

async function host(path: string, machines: Parameters<typeof createRuntime>[0]['machines'], hostId?: string) {
  const runtime = createRuntime({ store: await SqliteStore.open(path), machines, pollIntervalMs: 20, ...(hostId ? { hostId } : {}) });
  open.push(runtime);
  await runtime.start();
  return runtime;
}

describe('durable runtime', () => {
  it('runs an order through an activity to its final state', async () => {
    const log = new EffectLog();
    const runtime = await host(tempDbPath(), [orderMachine(log)]);
    const { runId } = await runtime.startRun('order', { input: { customer: 'ada' } });
    await runtime.send(runId, { type: 'item.added', sku: 'A1', qty: 2 });
    await runtime.send(runId, { type: 'order.placed' });
    const waiting = await runtime.waitForRun(runId, { horizonMs: 0 });
    expect(waiting).toMatchObject({ status: 'waiting', state: 'paid' });
    await runtime.send(runId, { type: 'order.shipped', carrier: 'post' });
    const outcome = await runtime.waitForRun(runId);
    expect(outcome).toEqual({ status: 'done', runId, output: { receipt: 'r-ada-2', items: 1 } });
    expect(log.total()).toBe(1);
  });

  it('waitForRun answers with a step that committed between its reads of the run, not with the state before it', async () => {
    const gate = defineMachine({
      name: 'latch',
      config: { id: 'latch', initial: 'open', states: { open: { on: { 'latch.close': 'closed' } }, closed: { type: 'final' } } },
      schemas: { events: { 'latch.close': z.object({}) } },
    });
    const store = await SqliteStore.open(tempDbPath());
    let between: (() => Promise<void>) | undefined;
    // The run's step commits right after waitForRun read the run and before it reads the run's waiting work.
    const racing = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'runActivity')
          return async (...args: Parameters<SqliteStore['runActivity']>) => {
            const step = between;
            between = undefined;
            await step?.();
            return target.runActivity(...args);
          };
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const runtime = createRuntime({ store: racing, machines: [gate], pollIntervalMs: 20 });
    open.push(runtime);
    await runtime.start();
    const { runId } = await runtime.startRun('latch');
    expect(await runtime.waitForRun(runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting', state: 'open' });
    between = async () => {
      await runtime.send(runId, { type: 'latch.close' });
      while ((await store.getActor(runId))!.status !== 'done') await new Promise((r) => setTimeout(r, 5));
    };
    expect(await runtime.waitForRun(runId, { horizonMs: 0 })).toMatchObject({ status: 'done', runId });
  });

  it('waitForRun reads the store a few times for a run this host drives, not at every step', async () => {
    const steps = 60;
    const loop = defineMachine({
      name: 'loop',
      config: {
        id: 'loop',
        initial: 'working',
        states: { working: { invoke: { src: 'work', onDone: [{ guard: 'more', target: 'working', reenter: true, actions: 'count' }, { target: 'done', actions: 'count' }] } }, done: { type: 'final' } },
      },
      schemas: { events: {}, context: z.object({ n: z.number() }) },
      context: () => ({ n: 0 }),
      guards: { more: ({ context }: { context: { n: number } }) => context.n + 1 < steps },
      actions: { count: assign({ n: ({ context }: { context: { n: number } }) => context.n + 1 }) },
      output: ({ context }: { context: { n: number } }) => context.n,
      activities: { work: defineActivity({ run: async () => ({ ok: true }) }) },
    });
    const store = await SqliteStore.open(tempDbPath());
    const reads = { getActor: 0, runActivity: 0 };
    let counting = false;
    const counted = new Proxy(store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        if (prop === 'getActor' || prop === 'runActivity') {
          return (...args: unknown[]) => {
            if (counting) reads[prop]++;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
    const runtime = createRuntime({ store: counted, machines: [loop], pollIntervalMs: 20 });
    open.push(runtime);
    await runtime.start();
    const { runId } = await runtime.startRun('loop');
    counting = true;
    const outcome = await runtime.waitForRun(runId);
    counting = false;
    expect(outcome).toEqual({ status: 'done', runId, output: steps });
    expect((await store.getActor(runId))!.seq).toBe(steps + 1);
    // One read of the root when it starts waiting and one when the root finished (a timer may add a few on a slow machine); it read both at every step before.
    expect(reads.getActor + reads.runActivity).toBeLessThan(10);
  });

  it('ends a run in error, output kept, when it reaches a final state marked as a failure', async () => {
    const gate = defineMachine({
      name: 'gate',
      config: {
        id: 'gate',
        initial: 'open',
        states: { open: { on: { 'gate.refuse': 'refused' } }, refused: { type: 'final', meta: { outcome: 'failure' } } },
      },
      schemas: { events: { 'gate.refuse': z.object({ why: z.string() }) } },
      context: () => ({ why: 'too late' }),
      output: ({ context }: any) => ({ status: 'refused', reason: context.why }),
    });
    const runtime = await host(tempDbPath(), [gate]);
    const { runId } = await runtime.startRun('gate');
    await runtime.send(runId, { type: 'gate.refuse', why: 'x' });
    expect(await runtime.waitForRun(runId)).toEqual({ status: 'error', runId, error: 'too late', output: { status: 'refused', reason: 'too late' } });
  });

  it('runs durable child actors that message their parent by id', async () => {
    const runtime = await host(tempDbPath(), [parentMachine, childMachine]);
    const { runId } = await runtime.startRun('parent');
    await runtime.waitForRun(runId, { horizonMs: 0 });
    const child = (await runtime.store.childrenOf(runId))[0]!;
    expect(child).toMatchObject({ childKey: 'worker', machine: 'child', id: `${runId}/worker` });
    await runtime.send(child.id, { type: 'work.finish', note: 'ok' });
    const outcome = await runtime.waitForRun(runId);
    expect(outcome).toEqual({ status: 'done', runId, output: { started: 'sweep', result: { did: 'sweep' } } });
  });
});

describe('partial output of running activities', () => {
  /** A machine whose one activity reports its answer a word at a time, failing its first attempt halfway when asked. */
  function writerMachine(options: { failFirst: boolean }) {
    return defineMachine({
      name: 'streamer',
      config: { id: 'streamer', initial: 'writing', states: { writing: { invoke: { id: 'write', src: 'write', onDone: { target: 'done', actions: 'save' } } }, done: { type: 'final' } } },
      schemas: { events: {} },
      context: () => ({ answer: null }),
      actions: { save: assign({ answer: ({ event }: any) => event.output }) },
      output: ({ context }: any) => context.answer,
      activities: {
        write: {
          retry: { maxAttempts: 2, initialDelayMs: 1 },
          async run(_input: unknown, ctx) {
            const words = ['Durable', 'agents', 'resume.'];
            let text = '';
            for (const [i, word] of words.entries()) {
              text += (i ? ' ' : '') + word;
              ctx.progress({ text });
              if (options.failFirst && ctx.attempt === 1 && i === 1) throw new Error('connection reset mid-answer');
            }
            return { text, watched: ctx.watched };
          },
        },
      },
    });
  }

  it('reaches onPartial listeners as the activity reports it, ends with its attempt, and is never stored', async () => {
    const path = tempDbPath();
    const runtime = await host(path, [writerMachine({ failFirst: true })]);
    const notices: { attempt: number; text: string; ended?: true }[] = [];
    const stop = runtime.onPartial((n) => notices.push({ attempt: n.attempt, text: n.text, ...(n.ended ? { ended: n.ended } : {}) }));
    const { runId } = await runtime.startRun('streamer');
    // The journaled result is the complete answer, once; the failed attempt's partial is only dropped.
    expect(await runtime.waitForRun(runId)).toEqual({ status: 'done', runId, output: { text: 'Durable agents resume.', watched: true } });
    expect(notices).toEqual([
      { attempt: 1, text: 'Durable' },
      { attempt: 1, text: 'Durable agents' },
      { attempt: 1, text: '', ended: true },
      { attempt: 2, text: 'Durable' },
      { attempt: 2, text: 'Durable agents' },
      { attempt: 2, text: 'Durable agents resume.' },
      { attempt: 2, text: '', ended: true },
    ]);
    const [job] = await runtime.store.listJobs({ runId });
    expect(job!.journal).not.toContain('Durable agents"');
    stop();
  });

  it('tells an activity nobody watches, so it need not stream', async () => {
    const runtime = await host(tempDbPath(), [writerMachine({ failFirst: false })]);
    const { runId } = await runtime.startRun('streamer');
    expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done', output: { watched: false } });
  });

  it("gives an activity its context: the invoking actor's facts, what it journals, and methods that work taken apart", async () => {
    let seen: Record<string, unknown> | undefined;
    const machine = defineMachine({
      name: 'contextual',
      config: { id: 'contextual', initial: 'working', states: { working: { invoke: { id: 'job', src: 'look', onDone: { target: 'done', actions: 'keep' } } }, done: { type: 'final' } } },
      schemas: { events: {}, context: z.object({ label: z.string(), got: z.unknown().optional() }) },
      context: () => ({ label: 'from the actor' }),
      actions: { keep: assign({ got: ({ event }: any) => event.output }) },
      activities: {
        look: defineActivity({
          run: async (_input, { key, attempt, actorId, runId, machine: name, childId, signal, context, now, record, previousAttempts, watched, runJournal }) => {
            record({ checked: true });
            seen = { key, attempt, actorId, runId, machine: name, childId, aborted: signal.aborted, context, clock: typeof now(), previousAttempts, watched, journal: (await runJournal()).length };
            return { ok: true };
          },
        }),
      },
    });
    const runtime = await host(tempDbPath(), [machine]);
    const { runId } = await runtime.startRun('contextual');
    expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done' });
    const [job] = await runtime.store.listJobs({ runId });
    expect(seen).toEqual({ key: job!.key, attempt: 1, actorId: runId, runId, machine: 'contextual', childId: 'job', aborted: false, context: { label: 'from the actor' }, clock: 'number', previousAttempts: [], watched: false, journal: 0 });
    expect(JSON.parse(job!.journal)).toMatchObject([{ attempt: 1, outcome: 'ok', checked: true }]);
  });
});
