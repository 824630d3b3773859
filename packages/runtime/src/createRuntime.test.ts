import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineMachine } from './defineMachine.js';
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
