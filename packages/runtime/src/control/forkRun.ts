import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../clock.js';
import type { MachineConfigJson } from '../defineMachine.js';
import { SpineError } from '../errors.js';
import type { MachineRegistry } from '../MachineRegistry.js';
import type { ActorRecord, HistoryRow, RunFork, Store } from '../Store.js';
import type { DelayResolver } from './afterTimers.js';
import { parseJson } from './json.js';
import { planFork, type ForkInputs } from './planFork.js';

/** Options of `forkRun`. */
export interface ForkRunOptions {
  store: Store;
  /** The step to fork from: its seq, of `actorId` (default: the run's root). */
  seq: number;
  actorId?: string;
  /** The new run's id (default `fork-<time>-<random>`). */
  newRunId?: string;
  /** The machines this process knows: their named delays re-create `after` timers. */
  registry?: MachineRegistry;
  /** Who forks, for the audit log (default `system`). */
  by?: string;
  /** The forked actor's new context at the fork point, already checked against its context schema. */
  context?: Record<string, unknown>;
  clock?: Clock;
}

/**
 * Forks a run from one of its past steps into a new run that goes on by itself (see
 * `planFork`): reads the run once, plans the fork, and writes it in one transaction.
 * Returns the fork as written, with notes on what could not be carried over.
 *
 * @throws SpineError `unknown_run`, `unknown_step`, or `conflict` (the new run id exists, or
 * the root had not started at that step).
 * @example
 * const fork = await forkRun('run-1', { store, seq: 3, by: 'ana' });
 */
export async function forkRun(runId: string, options: ForkRunOptions): Promise<RunFork> {
  const { store, registry } = options;
  const clock = options.clock ?? systemClock;
  const newRunId = options.newRunId ?? `fork-${clock.now().toString(36)}-${randomUUID().slice(0, 6)}`;
  const inputs = await readForkInputs(store, { runId, actorId: options.actorId ?? runId, seq: options.seq, newRunId });
  const delays: DelayResolver = (machine) => (registry?.has(machine) ? registry.definition(machine).delays : undefined);
  const fork = planFork(inputs, { newRunId, now: clock.now(), delays, ...(options.by ? { by: options.by } : {}), ...(options.context ? { context: options.context } : {}) });
  await store.forkRun(fork);
  return fork;
}

/**
 * Reads everything a fork of a run is planned from (see ForkInputs).
 *
 * @throws SpineError `unknown_run`, `unknown_step`, or `conflict` when the new run id exists.
 */
export async function readForkInputs(store: Store, at: { runId: string; actorId: string; seq: number; newRunId: string }): Promise<ForkInputs> {
  const { runId, actorId, seq } = at;
  const root = await store.getActor(runId);
  if (!root || root.runId !== runId) throw new SpineError('unknown_run', `No run with id '${runId}'.`, { actorId: runId });
  if (await store.getActor(at.newRunId)) throw new SpineError('conflict', `A run with id '${at.newRunId}' already exists.`, { actorId: at.newRunId });
  const row = await store.historyRow(actorId, seq);
  if (!row || row.runId !== runId) {
    throw new SpineError('unknown_step', `Run '${runId}' has no step ${seq} of actor '${actorId}'. Pick a step from the run's timeline.`, { actorId });
  }
  const [rows, actors, jobs, approvals] = await Promise.all([
    store.runHistory(runId, { upToRowId: row.rowId }),
    store.listActors({ runId, limit: 100_000 }),
    store.listJobs({ runId }),
    store.listApprovals({ runId, limit: 100_000 }),
  ]);
  const lastRow = new Map<string, HistoryRow>();
  for (const r of rows) lastRow.set(r.actorId, r);
  const configs = new Map<string, MachineConfigJson | undefined>();
  const initEvents = new Map<string, string | undefined>();
  for (const actor of actors) {
    const last = lastRow.get(actor.id);
    if (!last) {
      initEvents.set(actor.id, await initEventOf(store, actor));
      continue;
    }
    const key = `${actor.machine}@${last.version}`;
    if (!configs.has(key)) configs.set(key, parseJson(await store.getMachineVersion(actor.machine, last.version)) as MachineConfigJson | undefined);
  }
  return { sourceRunId: runId, point: { actorId, seq, row }, rows, actors, jobs, approvals, configs, initEvents };
}

async function initEventOf(store: Store, actor: ActorRecord): Promise<string | undefined> {
  const first = await store.historyRow(actor.id, 1);
  if (first) return first.event;
  const pending = await store.nextEvents(actor.id, Number.MAX_SAFE_INTEGER, 16);
  return pending.find((e) => e.type === 'xstate.init')?.event;
}
