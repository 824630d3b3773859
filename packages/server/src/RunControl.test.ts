import { createRuntime } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { RunControl } from './RunControl.js';
import { RunReader } from './RunReader.js';
import { paymentMachine, tempDbPath } from './testing/machines.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('RunControl over the runtime', () => {
  it("shows a fork's inherited spend in its own totals, and counts it once across runs", async () => {
    const store = await SqliteStore.open(tempDbPath());
    const runtime = createRuntime({ store, machines: [paymentMachine({ remaining: 1, calls: 0 })], pollIntervalMs: 20 });
    await runtime.start();
    cleanups.push(async () => {
      await runtime.stop();
      await store.close();
    });
    const reader = new RunReader(store);
    const control = new RunControl(reader, runtime);

    // The first charge is declined (paid for: $0.0012), the retry is charged ($0.0012).
    const { runId } = await runtime.startRun('payment');
    expect(await runtime.waitForRun(runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting', state: 'declined' });
    await runtime.send(runId, { type: 'payment.retry' });
    expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done' });

    // Forked where the decline was applied: that charge is part of the fork's past.
    const fork = await control.fork({ runId, seq: 2 });
    const runs = new Map((await reader.listRuns()).map((r) => [r.runId, r]));
    expect(runs.get(runId)?.costUsd).toBeCloseTo(0.0024, 10);
    expect(runs.get(fork.runId)?.costUsd).toBeCloseTo(0.0012, 10);
    expect(runs.get(fork.runId)?.tokens).toEqual({ input: 100, output: 20, total: 120 });

    const [inherited] = (await reader.runDetail(fork.runId)).jobs;
    expect(inherited).toMatchObject({ status: 'failed', step: 1, journal: [expect.objectContaining({ costUsd: 0.0012, inherited: { runId, jobKey: `${runId}:1:0` } })] });
    expect(await reader.costs({ runId: fork.runId })).toHaveLength(1);
    const everything = await reader.costs();
    expect(everything.map((p) => p.runId)).toEqual([runId, runId]);
    expect(everything.reduce((sum, p) => sum + p.costUsd, 0)).toBeCloseTo(0.0024, 10);
  });

  it('cancels a run through the runtime and refuses a second cancel and an unknown run as before', async () => {
    const store = await SqliteStore.open(tempDbPath());
    const runtime = createRuntime({ store, machines: [paymentMachine({ remaining: 1, calls: 0 })], pollIntervalMs: 20 });
    await runtime.start();
    cleanups.push(async () => {
      await runtime.stop();
      await store.close();
    });
    const control = new RunControl(new RunReader(store), undefined);
    const { runId } = await runtime.startRun('payment');
    expect(await runtime.waitForRun(runId, { horizonMs: 0 })).toMatchObject({ status: 'waiting', state: 'declined' });
    expect(await control.cancel({ runId })).toEqual({ runId, stopped: [runId] });
    expect(await store.getActor(runId)).toMatchObject({ status: 'stopped' });
    await expect(control.cancel({ runId })).rejects.toMatchObject({ code: 'conflict', status: 409, message: `Run '${runId}' is already stopped; nothing to cancel.` });
    await expect(control.cancel({ runId: 'nope' })).rejects.toMatchObject({ code: 'unknown_run', status: 404 });
    await expect(control.fork({ runId, seq: 99 })).rejects.toMatchObject({ code: 'not_found', status: 404 });
  });
});
