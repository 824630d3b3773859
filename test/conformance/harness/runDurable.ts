import { createRuntime, decodeSnapshot, defineMachine, SimulatedClock, type Runtime, type Store } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import type { CaseInput, ConformanceCase } from './MachineSpec.js';
import { allSpecs, toDefinitions, toXStateMachine } from './MachineSpec.js';
import type { Observation } from './observe.js';

/** The same epoch for every case, so relative times are all that matter. */
export const EPOCH = Date.UTC(2026, 0, 1);
export const RUN_ID = 'case';

/**
 * Opens the store a durable host runs on, from the case's file name: a real SQLite file.
 * xstate.postgres.conformance.test.ts replaces it with a PostgreSQL schema per file name.
 */
/**
 * The store each case runs on, and how long one input may take to settle before the case fails
 * as hung: a hang detector, not a speed claim (a PostgreSQL case opens a pool, a lease connection
 * and a listener at every restart, and CI runs it beside the crash suites on two cores).
 */
export const durableStore: {
  open: (file: string) => Promise<Store>;
  settleMs: number;
  /** What a stalled case's message quotes besides the counts: the store's rows for the run and its connections (PostgreSQL). */
  describe?: (store: Store, now: number) => Promise<string>;
} = { open: (file) => SqliteStore.open(file), settleMs: 5000 };

/** A durable host over a real store (an SQLite file unless `durableStore` says otherwise), on a clock the harness moves. */
export interface DurableHost {
  store: Store;
  runtime: Runtime;
  /** What the host reported through `onError` (custom actions, listeners, steps that failed to run). */
  errors: string[];
  /** `src` names of callback actors: their activity runs as long as its state is active. */
  longLived: Set<string>;
}

/** Whether every job still in flight is a callback that has started (it runs until its state is left). */
async function onlyLongLivedJobsRun(host: DurableHost, longLived: Set<string>): Promise<boolean> {
  if (!longLived.size) return false;
  const jobs = await host.store.listJobs({ runId: RUN_ID, status: ['pending', 'running', 'held'] });
  return jobs.every((job) => job.status === 'running' && longLived.has(job.src));
}

/**
 * How the durable host is given the machine: `machine` registers the xstate machine object itself
 * (`defineMachine({ name, machine })`, what a user who wrote it in code does); `definition` registers the
 * JSON structure with named implementations (`<name>.machine.json` + `<name>.ts`).
 */
export type MachineForm = 'machine' | 'definition';

/** The form the suite runs: `SPINE_CONFORMANCE_FORM=definition` switches to the JSON form. */
export const MACHINE_FORM: MachineForm = process.env.SPINE_CONFORMANCE_FORM === 'definition' ? 'definition' : 'machine';

export async function openHost(
  file: string,
  testCase: ConformanceCase,
  clock: SimulatedClock,
  hostId: string,
  starts: string[] = [],
  options: { beforeActivity?: (src: string) => Promise<void> } = {},
): Promise<DurableHost> {
  const store = await durableStore.open(file);
  const machines = MACHINE_FORM === 'machine' ? [defineMachine({ name: testCase.spec.name, machine: toXStateMachine(testCase.spec, starts, options) })] : toDefinitions(testCase.spec, starts, options);
  const errors: string[] = [];
  const runtime = createRuntime({ store, machines, clock, hostId, pollIntervalMs: 50, onError: (error, where) => void errors.push(`${where}: ${error.message}`) });
  await runtime.start();
  const longLived = new Set(allSpecs(testCase.spec).flatMap((spec) => Object.keys(spec.actors ?? {})));
  return { store, runtime, errors, longLived };
}

export async function closeHost(host: DurableHost): Promise<void> {
  await host.runtime.stop();
  await host.store.close();
}

/** Drives the host until the run has no due event and no running job; fails with the case name past the deadline. */
export async function settle(host: DurableHost, clock: SimulatedClock, caseName: string, deadlineMs = durableStore.settleMs): Promise<void> {
  const until = Date.now() + deadlineMs;
  const longLived = host.longLived;
  for (;;) {
    await host.runtime.poke();
    await host.runtime.idle();
    const activity = await host.store.runActivity(RUN_ID, clock.now());
    if (activity.dueEvents === 0 && activity.activeJobs === 0) return;
    if (activity.dueEvents === 0 && (await onlyLongLivedJobsRun(host, longLived))) return;
    if (Date.now() > until) {
      const seen = await durableStore.describe?.(host.store, clock.now()).catch((error: unknown) => `(could not describe the store: ${String(error)})`);
      throw new Error(
        `${caseName}: the durable run did not settle within ${deadlineMs} ms (due events ${activity.dueEvents}, active jobs ${activity.activeJobs}; host errors: ${host.errors.slice(-3).join(' | ') || 'none'})` +
          `; host ${host.runtime.hostId}, clock ${clock.now()}` +
          (seen ? `\n${seen}` : ''),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Applies one input to a durable host. */
export async function applyInput(host: DurableHost, clock: SimulatedClock, input: CaseInput): Promise<void> {
  if (input.kind === 'event') {
    try {
      await host.runtime.send(RUN_ID, input.event);
    } catch (error) {
      // xstate ignores an event sent to a finished actor; Spine refuses it (and dead-letters it). Same state either way.
      const actor = await host.store.getActor(RUN_ID);
      if (actor?.status === 'active') throw error;
    }
  } else clock.advance(input.ms);
}

/** What the durable run shows, read back from the store. */
export async function observeDurable(store: Store, clock: SimulatedClock, starts: string[]): Promise<Observation> {
  const actor = await store.getActor(RUN_ID);
  if (!actor) throw new Error('the run has no actor row');
  type Persisted = { value?: unknown; context?: unknown; children?: Record<string, { snapshot?: { status?: string } }> };
  const snapshot = ((actor.snapshot ? decodeSnapshot(actor.snapshot) : null) ?? {}) as Persisted;
  // Durable children, finished ones included (`childrenOf` lists the active ones); a later row of the same key wins.
  const durable = new Map((await store.listActors({ runId: RUN_ID })).filter((a) => a.parentId === RUN_ID && a.childKey).map((a) => [a.childKey!, a.id]));
  const children: Observation['children'] = {};
  const jobs = await store.listJobs({ actorId: RUN_ID });
  for (const [key, child] of Object.entries(snapshot.children ?? {})) {
    const id = durable.get(key);
    const row = id ? await store.getActor(id) : undefined;
    if (row) {
      children[key] = { status: row.status, value: row.stateValue ? JSON.parse(row.stateValue) : undefined };
    } else {
      // An activity child: the job table is the durable truth of how it stands.
      const job = jobs.filter((j) => j.childId === key).at(-1);
      children[key] = { status: job ? (job.status === 'done' ? 'done' : job.status === 'failed' ? 'error' : 'active') : (child.snapshot?.status ?? 'active') };
    }
  }
  const emitted = (await store.history(RUN_ID)).flatMap((h) => (h.emitted ? (JSON.parse(h.emitted) as unknown[]) : []));
  const next = actor.status === 'active' ? (await store.runActivity(RUN_ID, clock.now())).nextWakeAt : undefined;
  return {
    value: snapshot.value,
    status: actor.status,
    context: snapshot.context,
    output: actor.output === null ? undefined : JSON.parse(actor.output),
    children,
    emitted,
    nextTimerIn: next === undefined ? null : next - clock.now(),
    started: [...starts],
    ...(actor.error ? { error: actor.error } : {}),
  };
}

/**
 * Runs a case durably. `reopen` closes the host (and the SQLite file) and opens a new
 * one before every input, so every step after the first runs on a restored actor.
 */
export async function runDurable(testCase: ConformanceCase, inputs: CaseInput[], file: string, options: { reopen: boolean }): Promise<Observation[]> {
  const clock = new SimulatedClock(EPOCH);
  const starts: string[] = [];
  let host = await openHost(file, testCase, clock, 'host-0', starts);
  const observations: Observation[] = [];
  try {
    await host.runtime.startRun(testCase.spec.name, { input: testCase.input, runId: RUN_ID });
    await settle(host, clock, testCase.name);
    observations.push(await observeDurable(host.store, clock, starts));
    let n = 0;
    for (const input of inputs) {
      if (options.reopen) {
        await closeHost(host);
        host = await openHost(file, testCase, clock, `host-${++n}`, starts);
      }
      await applyInput(host, clock, input);
      await settle(host, clock, testCase.name);
      observations.push(await observeDurable(host.store, clock, starts));
    }
  } finally {
    await closeHost(host);
  }
  return observations;
}
