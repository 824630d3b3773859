/**
 * What still differs from xstate after the differential suite, each checked here as Spine
 * does it instead: refused with its reason (at startRun, at registration, or at the step that
 * makes it when it cannot be told before), never run differently in silence. The list with
 * the reasons is in packages/runtime/README.md, "Remaining differences from xstate".
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, defineMachine, SimulatedClock, type MachineDefinition, type Runtime } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { assign, createActor, fromCallback, fromObservable, fromPromise, sendParent, sendTo, setup, type AnyStateMachine } from 'xstate';

const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'spine-conformance-refusals-'));
let files = 0;
const checked: string[] = [];
afterAll(() => {
  process.stdout.write(`\nconformance refusals: ${checked.length} remaining differences checked as refused with their reason (${checked.join(', ')})\n`);
  rmSync(dir, { recursive: true, force: true });
});

async function open(file: string, machines: MachineDefinition[], clock = new SimulatedClock(Date.UTC(2026, 0, 1))): Promise<Runtime> {
  const runtime = createRuntime({ store: await SqliteStore.open(file), machines, clock, pollIntervalMs: 20, onError: () => {} });
  await runtime.start();
  return runtime;
}

async function close(runtime: Runtime): Promise<void> {
  await runtime.stop();
  await runtime.store.close();
}

describe('remaining differences from xstate, refused with their reason', () => {
  it('fails the step that puts a function in context, naming its path, on a warm and a restarted host alike (xstate keeps it in memory)', async () => {
    const machine = setup({}).createMachine({
      context: { n: 0 } as { n: number; handler?: unknown },
      initial: 'idle',
      states: { idle: { on: { set: { actions: assign({ handler: () => () => 'hi' }), target: 'set' } } }, set: {} },
    });
    const oracle = createActor(machine).start();
    oracle.send({ type: 'set' });
    expect(typeof oracle.getSnapshot().context.handler).toBe('function');

    const errors: string[] = [];
    for (const restart of [false, true]) {
      const file = join(dir, `fn-${files++}.db`);
      let runtime = await open(file, [defineMachine({ name: 'fn', machine })]);
      const { runId } = await runtime.startRun('fn');
      await runtime.idle();
      if (restart) {
        await close(runtime);
        runtime = await open(file, [defineMachine({ name: 'fn', machine })]);
      }
      await runtime.send(runId, { type: 'set' });
      const outcome = await runtime.waitForRun(runId, { horizonMs: 2000 });
      const row = await runtime.store.getActor(runId);
      await close(runtime);
      expect(outcome.status).toBe('error');
      // The snapshot stays the one before the step: nothing was silently changed.
      expect(JSON.parse(row!.snapshot!).value).toBe('idle');
      errors.push(row!.error!);
    }
    expect(errors[0]).toMatch(/The context value at context\.handler is a function/);
    expect(errors[1]).toBe(errors[0]);
    checked.push('function in context');
  });

  it('refuses at startRun a code machine that invokes observable logic, and at registration a JSON definition that names it', async () => {
    const ticks = fromObservable(() => ({ subscribe: () => ({ unsubscribe() {} }) }) as never);
    const machine = setup({ actors: { ticks } }).createMachine({ initial: 'a', states: { a: { invoke: { src: 'ticks' } } } });
    const runtime = await open(join(dir, `obs-${files++}.db`), [defineMachine({ name: 'obs', machine })]);
    await expect(runtime.startRun('obs')).rejects.toThrow(/uses actor logic the durable host cannot keep \(ticks\)/);
    await close(runtime);
    const config = { initial: 'a', states: { a: { invoke: { src: 'ticks' } } } };
    expect(() => createRuntime({ store: runtime.store, machines: [defineMachine({ name: 'obs-json', config, schemas: {}, actors: { ticks } })] })).toThrow(
      /actors\.ticks: actor logic the durable host cannot keep/,
    );
    checked.push('observable actors');
  });

  it('dead-letters a delayed send to a callback child with the reason (xstate delivers it later)', async () => {
    const received: string[] = [];
    const machine = setup({
      actors: { cb: fromCallback(({ receive }) => void receive((event) => void received.push(event.type))) },
      actions: { later: sendTo('cb', { type: 'ping' }, { delay: 10 }) },
    }).createMachine({ initial: 'a', states: { a: { invoke: { id: 'cb', src: 'cb' }, on: { go: { actions: 'later' } } } } });
    const runtime = await open(join(dir, `delay-${files++}.db`), [defineMachine({ name: 'delayed', machine })]);
    const { runId } = await runtime.startRun('delayed');
    await runtime.idle();
    await runtime.send(runId, { type: 'go' });
    await runtime.idle();
    const letters = await runtime.store.listDeadLetters();
    await close(runtime);
    expect(letters.map((l) => l.reason)).toContainEqual(expect.stringMatching(/A delayed send to the activity child 'cb' .* cannot be kept durably/));
    expect(received).toEqual([]);
    checked.push('delayed send to a callback');
  });

  it("stops a failed parent's children, so none of their timers or activities run (xstate leaves them running)", async () => {
    const starts: string[] = [];
    const child = setup({ actors: { work: fromPromise(async () => void starts.push('work')) } }).createMachine({
      initial: 'waiting',
      states: { waiting: { after: { 100: 'working' } }, working: { invoke: { src: 'work', onDone: 'told' } }, told: { entry: sendParent({ type: 'child.done' }) } },
    });
    const parent: AnyStateMachine = setup({
      actors: { child },
      actions: {
        explode: () => {
          throw new Error('the parent failed');
        },
      },
    }).createMachine({ initial: 'a', states: { a: { invoke: { id: 'kid', src: 'child' }, on: { fail: { actions: 'explode' } } } } });
    const clock = new SimulatedClock(Date.UTC(2026, 0, 1));
    const runtime = await open(join(dir, `parent-${files++}.db`), [defineMachine({ name: 'parent', machine: parent })], clock);
    const { runId } = await runtime.startRun('parent');
    await runtime.idle();
    await runtime.send(runId, { type: 'fail' });
    await runtime.idle();
    clock.advance(500);
    await runtime.poke();
    await runtime.idle();
    const kid = await runtime.store.getActor(`${runId}/kid`);
    const root = await runtime.store.getActor(runId);
    await close(runtime);
    expect(root).toMatchObject({ status: 'error' });
    expect(kid).toMatchObject({ status: 'stopped', stateValue: JSON.stringify('waiting') });
    expect(starts).toEqual([]);
    checked.push("a failed parent's children");
  });
});
