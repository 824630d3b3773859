// Steps per second of the 20-step activity workflow (each step an activity whose
// result is persisted before the next), with 1 or many runs in flight, at
// synchronous=NORMAL and FULL, plus the bare-transaction floor. Short on purpose:
//
//   node --import tsx test/bench/activitySteps.ts [--runs 200] [--inflight 1,100] [--sync NORMAL,FULL]
//
// Figures on a shared, loaded machine are only comparable within one run.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRuntime, defineActivity, defineMachine, type MachineConfigJson } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { assign } from 'xstate';
import { z } from 'zod';

const STEPS = 20;

function activityWorkflow() {
  const config: MachineConfigJson = { id: 'steps', initial: 's0', states: {} };
  for (let i = 0; i < STEPS; i++) {
    config.states![`s${i}`] = { invoke: { id: `w${i}`, src: 'work', input: { step: i }, onDone: { target: i + 1 < STEPS ? `s${i + 1}` : 'done', actions: 'keep' } } };
  }
  config.states!.done = { type: 'final' };
  return defineMachine({
    name: 'steps',
    config,
    schemas: { context: z.object({ total: z.number() }) },
    context: () => ({ total: 0 }),
    actions: { keep: assign({ total: ({ context, event }: any) => context.total + event.output.value }) },
    output: ({ context }: any) => ({ total: context.total }),
    activities: { work: defineActivity({ input: z.object({ step: z.number() }), run: async (input: { step: number }) => ({ value: input.step * 7 + 1 }) }) },
  });
}

async function measure(sync: 'NORMAL' | 'FULL', inflight: number, runs: number): Promise<number> {
  const store = await SqliteStore.open(join(mkdtempSync(join(tmpdir(), 'spine-bench-')), 'bench.db'), { synchronous: sync });
  const runtime = createRuntime({ store, machines: [activityWorkflow()], onError: (e, where) => console.error(where, e.message) });
  await runtime.start();
  const t0 = performance.now();
  let started = 0;
  const lane = async () => {
    while (started < runs) {
      started++;
      const { runId } = await runtime.startRun('steps');
      const outcome = await runtime.waitForRun(runId);
      if (outcome.status !== 'done') throw new Error(`run ${runId} ended ${outcome.status}`);
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  const seconds = (performance.now() - t0) / 1000;
  const steps = (store.db.prepare('SELECT COUNT(*) AS n FROM history').get() as { n: number }).n;
  await runtime.stop();
  await store.close();
  return steps / seconds;
}

function bareFloor(sync: 'NORMAL' | 'FULL', n: number): number {
  const store = SqliteStore.openSync(join(mkdtempSync(join(tmpdir(), 'spine-floor-')), 'floor.db'), { synchronous: sync });
  const db = store.db;
  db.exec('CREATE TABLE floor_actor (id INTEGER PRIMARY KEY, seq INTEGER, snapshot TEXT); CREATE TABLE floor_history (seq INTEGER, snapshot TEXT); INSERT INTO floor_actor VALUES (1, 0, NULL);');
  const update = db.prepare('UPDATE floor_actor SET seq = ?, snapshot = ? WHERE id = 1');
  const insert = db.prepare('INSERT INTO floor_history VALUES (?, ?)');
  const snapshot = JSON.stringify({ status: 'active', value: 's3', context: { total: 123 }, children: {} });
  const tx = db.transaction((seq: number) => {
    update.run(seq, snapshot);
    insert.run(seq, snapshot);
  });
  const t0 = performance.now();
  for (let i = 1; i <= n; i++) tx.immediate(i);
  const rate = n / ((performance.now() - t0) / 1000);
  db.close();
  return rate;
}

const { values } = parseArgs({ options: { runs: { type: 'string' }, inflight: { type: 'string' }, sync: { type: 'string' } } });
const runs = Number(values.runs ?? 200);
const inflights = (values.inflight ?? '1,100').split(',').map(Number);
const syncs = (values.sync ?? 'NORMAL,FULL').split(',') as ('NORMAL' | 'FULL')[];
for (const sync of syncs) {
  console.log(`floor ${sync}: ${Math.round(bareFloor(sync, sync === 'FULL' ? 500 : 5000))} bare transactions/s`);
  for (const inflight of inflights) {
    const rate = await measure(sync, inflight, Math.max(runs, inflight));
    console.log(`activity workflow ${sync} ${inflight} in flight: ${Math.round(rate)} steps/s`);
  }
}
