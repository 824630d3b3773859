import { defineActivity, defineMachine, type MachineConfigJson, type Runtime } from '@spine/runtime';
import { assign } from 'xstate';
import { z } from 'zod';

/** A 20-state ring: each `tick` moves to the next state and counts. */
export function benchMachine(states = 20) {
  const config: MachineConfigJson = { id: 'ring', initial: 's0', states: {} };
  for (let i = 0; i < states; i++) {
    config.states![`s${i}`] = { on: { tick: { target: `s${(i + 1) % states}`, actions: 'count' }, stop: 'done' }, tags: [`t${i % 3}`] };
  }
  config.states!.done = { type: 'final' };
  return defineMachine({
    name: 'ring',
    config,
    schemas: { events: { tick: z.object({ n: z.number().optional() }), stop: z.object({}) }, context: z.object({ count: z.number(), label: z.string() }) },
    context: () => ({ count: 0, label: 'benchmark actor with a little context to persist' }),
    actions: { count: assign({ count: ({ context }: any) => context.count + 1 }) },
  });
}

/**
 * The activity workflow: `steps` states in a row, each invoking the `work` activity and moving on
 * when its result is applied, so every step is an activity whose result is persisted before the
 * next starts (the workload of a durable agent pipeline, without the model).
 */
export function activityChain(steps = 20) {
  const config: MachineConfigJson = { id: 'chain', initial: 's0', states: {} };
  for (let i = 0; i < steps; i++) {
    config.states![`s${i}`] = { invoke: { id: `w${i}`, src: 'work', onDone: { target: i + 1 < steps ? `s${i + 1}` : 'done', actions: 'count' } } };
  }
  config.states!.done = { type: 'final' };
  return defineMachine({
    name: 'chain',
    config,
    schemas: { events: {}, context: z.object({ count: z.number() }) },
    context: () => ({ count: 0 }),
    actions: { count: assign({ count: ({ context }: any) => context.count + 1 }) },
    activities: { work: defineActivity({ run: async () => ({ ok: true }) }) },
  });
}

/** The workflows the benches run: every step an activity's result, or every step an event sent with `runtime.send`. */
export type BenchWorkflow = 'activity' | 'send';

/**
 * Runs workflows on a runtime holding `activityChain(steps)` and `benchMachine(steps)`, each to
 * its end, as an application does. `activity`: `startRun`, then `waitForRun` until the run is
 * done (the init step, then one step per activity result). `send`: the init step, then `steps`
 * events sent with `runtime.send`, each applied (committed) before the next is sent, told by the
 * host's step notices (as a service embedding the runtime is). A run that fails rejects.
 */
export function workflowRunner(runtime: Runtime, steps: number): (workflow: BenchWorkflow, runId: string) => Promise<void> {
  const waiters = new Map<string, { seq: number; resolve: () => void; reject: (error: Error) => void }>();
  runtime.onStep(({ actor, history }) => {
    const waiter = waiters.get(actor.id);
    if (!waiter) return;
    if (actor.status === 'error') waiter.reject(new Error(`bench: run ${actor.id} failed at seq ${history.seq}`));
    else if (history.seq >= waiter.seq) waiter.resolve();
    else return;
    waiters.delete(actor.id);
  });
  const committed = (runId: string, seq: number) => new Promise<void>((resolve, reject) => waiters.set(runId, { seq, resolve, reject }));
  return async (workflow, runId) => {
    if (workflow === 'activity') {
      // As an application waits for a run it started: waitForRun, which ends with the run.
      await runtime.startRun('chain', { runId });
      const outcome = await runtime.waitForRun(runId);
      if (outcome.status !== 'done') throw new Error(`bench: run ${runId} ended ${outcome.status}, expected done`);
      return;
    }
    const started = committed(runId, 1);
    await runtime.startRun('ring', { runId });
    await started;
    for (let i = 0; i < steps; i++) {
      const applied = committed(runId, i + 2);
      await runtime.send(runId, i + 1 < steps ? { type: 'tick', n: i } : { type: 'stop' });
      await applied;
    }
  };
}
