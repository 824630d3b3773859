import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { assign, createActor, createMachine, emit, enqueueActions, fromCallback, fromObservable, fromPromise, raise, sendParent, sendTo, setup } from 'xstate';
import { z } from 'zod';
import { createRuntime, type Runtime } from './createRuntime.js';
import { defineMachine } from './defineMachine.js';
import { tempDbPath } from './testing/fixtures.js';

const open: Runtime[] = [];
afterEach(async () => {
  for (const runtime of open.splice(0)) {
    await runtime.stop();
    await runtime.store.close();
  }
});

async function host(path: string, machines: Parameters<typeof createRuntime>[0]['machines']) {
  const runtime = createRuntime({ store: await SqliteStore.open(path), machines, pollIntervalMs: 20 });
  open.push(runtime);
  await runtime.start();
  return runtime;
}

describe('machines written in code', () => {
  it('runs an xstate machine with inline assign, raise, enqueueActions, emit, guards and a promise actor', async () => {
    let calls = 0;
    const machine = setup({
      actors: {
        double: fromPromise(async ({ input }: { input: { n: number } }) => {
          calls++;
          return input.n * 2;
        }),
      },
    }).createMachine({
      id: 'calc',
      context: ({ input }: { input: { n: number } }) => ({ n: input.n, log: [] as string[] }),
      initial: 'idle',
      states: {
        idle: {
          on: {
            go: [
              { guard: ({ context }) => context.n < 0, target: 'done' },
              { target: 'working', actions: [assign({ log: ({ context }) => [...context.log, 'go'] }), raise({ type: 'noted' })] },
            ],
          },
        },
        working: {
          on: { noted: { actions: enqueueActions(({ enqueue }) => enqueue.assign({ log: ({ context }: { context: { log: string[] } }) => [...context.log, 'noted'] })) } },
          invoke: {
            src: 'double',
            input: ({ context }) => ({ n: context.n }),
            onDone: { target: 'done', actions: [assign({ n: ({ event }) => event.output }), emit({ type: 'doubled' })] },
          },
        },
        done: { type: 'final' },
      },
      output: ({ context }) => context,
    });
    const runtime = await host(tempDbPath(), [defineMachine({ name: 'calc', machine })]);
    const { runId } = await runtime.startRun('calc', { input: { n: 21 } });
    await runtime.send(runId, { type: 'go' });
    expect(await runtime.waitForRun(runId)).toEqual({ status: 'done', runId, output: { n: 42, log: ['go', 'noted'] } });
    expect(calls).toBe(1);
  });

  it('gives a code machine a version from its config and the source of its implementations', async () => {
    const make = (step: number) =>
      setup({ types: { context: {} as { n: number } }, actions: { bump: assign({ n: ({ context }) => context.n + step }) } }).createMachine({
        context: { n: 0 },
        on: { bump: { actions: 'bump' } },
      });
    const runtime = await host(tempDbPath(), []);
    const a = runtime.registry.register({ name: 'm', machine: make(1) });
    const b = runtime.registry.register({ name: 'm', machine: make(1) });
    const c = runtime.registry.register({ name: 'm', machine: setup({ types: { context: {} as { n: number } }, actions: { bump: assign({ n: ({ context }) => context.n + 2 }) } }).createMachine({ context: { n: 0 }, on: { bump: { actions: 'bump' } } }) });
    expect(a.version).toBe(b.version);
    expect(c.version).not.toBe(a.version);
  });

  it('runs an invoked inline machine as a durable child that answers with xstate sendParent', async () => {
    const child = setup({}).createMachine({
      initial: 'working',
      states: { working: { on: { 'child.go': { target: 'done', actions: sendParent({ type: 'child.said', text: 'hi' }) } } }, done: { type: 'final' } },
    });
    const machine = createMachine({
      context: { heard: '' },
      initial: 'waiting',
      states: {
        waiting: {
          invoke: { id: 'kid', src: child },
          entry: sendTo('kid', { type: 'child.go' }),
          on: { 'child.said': { actions: assign({ heard: ({ event }) => (event as any).text }) }, '*': 'failed' },
          always: { guard: ({ context }) => context.heard !== '', target: 'done' },
        },
        done: { type: 'final' },
        failed: { type: 'final' },
      },
      output: ({ context }) => context,
    });
    const runtime = await host(tempDbPath(), [defineMachine({ name: 'family', machine })]);
    const { runId } = await runtime.startRun('family');
    expect(await runtime.waitForRun(runId)).toEqual({ status: 'done', runId, output: { heard: 'hi' } });
    expect(await runtime.store.getActor(`${runId}/kid`)).toMatchObject({ childKey: 'kid', machine: 'family/xstate.invoke.0.(machine).waiting', status: 'done' });
  });

  it('runs a callback actor while its state is active, delivering sendBack through the mailbox, and stops it when left', async () => {
    let started = 0;
    let cleaned = 0;
    const machine = setup({
      actors: {
        ticker: fromCallback(({ sendBack, input }: { sendBack: (e: { type: string }) => void; input: { every: number } }) => {
          started++;
          const timer = setInterval(() => sendBack({ type: 'tick' }), input.every);
          return () => {
            cleaned++;
            clearInterval(timer);
          };
        }),
      },
    }).createMachine({
      context: { ticks: 0 },
      initial: 'counting',
      states: {
        counting: {
          invoke: { src: 'ticker', input: { every: 10 } },
          on: { tick: [{ guard: ({ context }) => context.ticks >= 2, target: 'done' }, { actions: assign({ ticks: ({ context }) => context.ticks + 1 }) }] },
        },
        done: { type: 'final' },
      },
      output: ({ context }) => context.ticks,
    });
    const runtime = await host(tempDbPath(), [defineMachine({ name: 'ticks', machine })]);
    const { runId } = await runtime.startRun('ticks');
    expect(await runtime.waitForRun(runId)).toEqual({ status: 'done', runId, output: 2 });
    await runtime.idle();
    expect(started).toBe(1);
    expect(cleaned).toBe(1);
  });

  it('restarts a callback actor whose host died while its state was active', async () => {
    const path = tempDbPath();
    let started = 0;
    const make = () =>
      setup({
        actors: {
          waiter: fromCallback(({ sendBack }: { sendBack: (e: { type: string }) => void }) => {
            started++;
            if (started === 2) setTimeout(() => sendBack({ type: 'ready' }), 5);
            return () => {};
          }),
        },
      }).createMachine({ initial: 'wait', states: { wait: { invoke: { src: 'waiter' }, on: { ready: 'done' } }, done: { type: 'final' } } });
    const first = await host(path, [defineMachine({ name: 'w', machine: make() })]);
    const { runId } = await first.startRun('w');
    await first.idle();
    await first.stop();
    expect(started).toBe(1);
    const second = await host(path, [defineMachine({ name: 'w', machine: make() })]);
    expect(await second.waitForRun(runId, { horizonMs: 2000 })).toMatchObject({ status: 'done' });
    expect(started).toBe(2);
  });
});

describe("a callback's receive", () => {
  const pingPong = (received: string[]) =>
    setup({
      actors: {
        echo: fromCallback(({ sendBack, receive }) => {
          receive((event) => {
            received.push(event.type);
            sendBack({ type: 'pong', n: (event as { n?: number }).n });
          });
        }),
      },
    }).createMachine({
      context: { pongs: [] as unknown[] },
      initial: 'talking',
      states: {
        talking: {
          // A send in the same step as the invoke waits for the callback to start, as in xstate.
          entry: sendTo('echo', { type: 'ping', n: 0 }),
          invoke: { id: 'echo', src: 'echo' },
          on: {
            go: { actions: sendTo('echo', ({ event }) => ({ type: 'ping', n: (event as { n?: number }).n })) },
            pong: [{ guard: ({ context }) => context.pongs.length >= 2, target: 'done' }, { actions: assign({ pongs: ({ context, event }) => [...context.pongs, (event as { n?: number }).n] }) }],
          },
        },
        done: { type: 'final' },
      },
      output: ({ context }) => context.pongs,
    });

  it('gets the events its actor sends to it, in order, and its sendBack answers through the mailbox', async () => {
    const received: string[] = [];
    const runtime = await host(tempDbPath(), [defineMachine({ name: 'pp', machine: pingPong(received) })]);
    const { runId } = await runtime.startRun('pp');
    await runtime.idle();
    await runtime.send(runId, { type: 'go', n: 1 });
    await runtime.idle();
    await runtime.send(runId, { type: 'go', n: 2 });
    expect(await runtime.waitForRun(runId, { horizonMs: 2000 })).toEqual({ status: 'done', runId, output: [0, 1] });
    expect(received).toEqual(['ping', 'ping', 'ping']);
  });

  it('gets them from the callback started again after a restart, as xstate restarts a callback restored from a snapshot', async () => {
    const path = tempDbPath();
    const received: string[] = [];
    const first = await host(path, [defineMachine({ name: 'pp', machine: pingPong(received) })]);
    const { runId } = await first.startRun('pp');
    await first.idle();
    await first.stop();
    await first.store.close();
    open.splice(open.indexOf(first), 1);
    const second = await host(path, [defineMachine({ name: 'pp', machine: pingPong(received) })]);
    await second.send(runId, { type: 'go', n: 1 });
    await second.idle();
    await second.send(runId, { type: 'go', n: 2 });
    expect(await second.waitForRun(runId, { horizonMs: 2000 })).toEqual({ status: 'done', runId, output: [0, 1] });
  });

  it('fails the callback child, as xstate does, when its receive listener throws: the actor gets xstate.error.actor.<id>', async () => {
    const machine = setup({
      actors: {
        touchy: fromCallback(({ receive }) => {
          receive(() => {
            throw new Error('do not touch');
          });
        }),
      },
    }).createMachine({
      context: { why: '' },
      initial: 'a',
      states: {
        a: {
          invoke: { id: 'touchy', src: 'touchy', onError: { target: 'failed', actions: assign({ why: ({ event }) => (event.error as Error).message }) } },
          on: { poke: { actions: sendTo('touchy', { type: 'poke' }) } },
        },
        failed: { type: 'final' },
      },
      output: ({ context }) => context.why,
    });
    const oracle = createActor(machine).start();
    oracle.send({ type: 'poke' });
    const runtime = await host(tempDbPath(), [defineMachine({ name: 'touchy', machine })]);
    const { runId } = await runtime.startRun('touchy');
    await runtime.idle();
    await runtime.send(runId, { type: 'poke' });
    expect(await runtime.waitForRun(runId, { horizonMs: 2000 })).toEqual({ status: 'done', runId, output: oracle.getSnapshot().output });
    expect(oracle.getSnapshot().output).toBe('do not touch');
  });

  it('dead-letters an event sent to a callback that runs in no attempt of this host, with the reason', async () => {
    const received: string[] = [];
    const store = await SqliteStore.open(tempDbPath());
    // A host that runs no activities: the callback's job waits for another host.
    const runtime = createRuntime({ store, machines: [defineMachine({ name: 'pp', machine: pingPong(received) })], pollIntervalMs: 20, runActivities: false });
    open.push(runtime);
    await runtime.start();
    const { runId } = await runtime.startRun('pp');
    await runtime.idle();
    await runtime.send(runId, { type: 'go', n: 1 });
    await runtime.idle();
    const letters = await store.listDeadLetters(runId);
    expect(letters.map((l) => [JSON.parse(l.event).type, l.reason])).toEqual([
      ['ping', expect.stringMatching(/No attempt of activity 'echo' of actor '.+' runs in host/)],
      ['ping', expect.stringMatching(/No attempt of activity 'echo'/)],
    ]);
    expect(received).toEqual([]);
  });

  it('runs a callback named in a JSON definition\'s actors, and refuses actor logic it cannot keep at registration', async () => {
    const received: string[] = [];
    const config = {
      initial: 'talking',
      states: { talking: { invoke: { id: 'echo', src: 'echo' }, on: { go: { actions: 'ping' }, pong: 'done' } }, done: { type: 'final' } },
    };
    const echo = fromCallback(({ sendBack, receive }) => {
      receive((event) => {
        received.push(event.type);
        sendBack({ type: 'pong' });
      });
    });
    const schemas = { events: { go: z.object({}), pong: z.object({}) } };
    const runtime = await host(tempDbPath(), [defineMachine({ name: 'json-echo', config, schemas, actions: { ping: sendTo('echo', { type: 'ping' }) }, actors: { echo } })]);
    const { runId } = await runtime.startRun('json-echo');
    await runtime.idle();
    await runtime.send(runId, { type: 'go' });
    expect(await runtime.waitForRun(runId, { horizonMs: 2000 })).toMatchObject({ status: 'done' });
    expect(received).toEqual(['ping']);
    expect(() => createRuntime({ store: runtime.store, machines: [defineMachine({ name: 'obs', config, schemas, actors: { echo: fromObservable(() => ({ subscribe: () => ({ unsubscribe() {} }) }) as never) } })] })).toThrow(
      /actors\.echo: actor logic the durable host cannot keep/,
    );
  });
});

describe('versions of machines written in code', () => {
  it('resumes a run when the same machine was rebuilt with other function text (another transpiler), and refuses a changed structure', async () => {
    const path = tempDbPath();
    const build = (text: string, extra: Record<string, unknown> = {}) =>
      setup({}).createMachine({
        context: { n: 0 },
        initial: 'a',
        states: { a: { on: { go: { target: 'b', actions: assign({ n: new Function('a', `return ${text}`) as never }) } } }, b: {}, ...extra },
      });
    const first = await host(path, [defineMachine({ name: 'm', machine: build('1') })]);
    const { runId } = await first.startRun('m');
    await first.waitForRun(runId, { horizonMs: 0 });
    await first.stop();
    const second = await host(path, [defineMachine({ name: 'm', machine: build('  1 /* minified differently */') })]);
    await second.send(runId, { type: 'go' });
    expect(await second.waitForRun(runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting', state: 'b' });
    await second.stop();
    const run2 = (await host(path, [defineMachine({ name: 'm', machine: build('1') })])) as Runtime;
    const { runId: other } = await run2.startRun('m');
    await run2.waitForRun(other, { horizonMs: 0 });
    await run2.stop();
    const changed = await host(path, [defineMachine({ name: 'm', machine: build('1', { c: {} }) })]);
    await expect(changed.registry.pinned('m', (await changed.store.getActor(other))!.version, changed.store)).rejects.toThrow(/no longer registered/);
  });
});
