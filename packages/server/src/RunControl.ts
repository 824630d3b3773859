import { createControl, SpineError, zodIssues, type Control, type Decision, type RunFork, type Runtime } from '@spine/runtime';
import type { bodies, DecisionJson, ForkResult, RetryResult } from './protocol.js';
import type { RunReader } from './RunReader.js';
import { ServerError } from './ServerError.js';
import type { z } from 'zod';

type Body<K extends keyof typeof bodies> = z.infer<(typeof bodies)[K]>;

/**
 * Run control behind the studio's commands: start, send (through the runtime,
 * so events are validated and refusals dead-lettered), cancel, retry, fork, and
 * approval decisions. Every method takes an already validated body.
 */
export class RunControl {
  readonly #reader: RunReader;
  readonly #runtime: Runtime | undefined;
  readonly #onRunChanged: (runId: string) => void;
  readonly #control: Control;

  constructor(reader: RunReader, runtime: Runtime | undefined, options: { onRunChanged?: (runId: string) => void } = {}) {
    this.#reader = reader;
    this.#runtime = runtime;
    this.#onRunChanged = options.onRunChanged ?? (() => {});
    // Without a runtime (no machines loaded) the store alone can still cancel and fork runs.
    this.#control = runtime?.control ?? createControl({ store: reader.store });
  }

  /** Starts a run of a machine the runtime knows. */
  async start(body: Body<'start'>): Promise<{ runId: string; version: string }> {
    const runtime = this.#needRuntime('start a run');
    return runtime.startRun(body.machine, { input: body.input, ...(body.runId ? { runId: body.runId } : {}) });
  }

  /** Sends an event to an actor through the runtime (validated against the actor's schema; refusals are dead-lettered). */
  async send(body: Body<'send'>): Promise<{ eventId: number }> {
    const runtime = this.#needRuntime('send events');
    return runtime.send(body.actorId, body.event, { source: 'studio' });
  }

  /** Stops every active actor of a run and cancels its open work: jobs (held ones too) and pending approvals, audited. */
  async cancel(body: Body<'cancel'>): Promise<{ runId: string; stopped: string[] }> {
    const stopped = await asServerError(() => this.#control.cancel(body.runId, { reason: body.reason ?? 'cancelled from the studio', by: 'studio' }));
    if (!stopped.length) {
      const root = await this.#reader.store.getActor(body.runId);
      throw new ServerError('conflict', `Run '${body.runId}' is already ${root?.status ?? 'finished'}; nothing to cancel.`);
    }
    this.#onRunChanged(body.runId);
    return { runId: body.runId, stopped };
  }

  /**
   * Retries a failed step (the runtime's `retryRun`): a job waiting out a back-off runs
   * now; a job that failed for good, or an actor that failed in a step, is retried by
   * forking the run from the step before the failure was applied.
   */
  async retry(body: Body<'retry'>): Promise<RetryResult> {
    const outcome = await asServerError(() => this.#control.retry(body.runId, { ...(body.jobKey ? { jobKey: body.jobKey } : {}), by: 'studio' }));
    if (outcome.mode === 'now') return outcome;
    return { mode: 'fork', jobKey: outcome.jobKey, ...this.#forked(outcome.fork) };
  }

  /**
   * Checks an edited context against the actor's machine's context schema.
   *
   * @throws ServerError `not_available` without the machine's implementation or schema, `invalid_command` naming each bad field.
   */
  async #checkContext(actorId: string, context: Record<string, unknown>): Promise<void> {
    const actor = await this.#reader.store.getActor(actorId);
    if (!actor) throw new ServerError('not_found', `No actor '${actorId}'.`);
    const registry = this.#runtime?.registry;
    const schema = registry?.has(actor.machine) ? registry.definition(actor.machine).schemas.context : undefined;
    if (!schema) {
      throw new ServerError('not_available', `Machine '${actor.machine}' has no context schema on this server, so an edited context cannot be checked; fork without editing, or give the machine \`schemas.context\`.`);
    }
    const result = schema.safeParse(context);
    if (!result.success) {
      const issues = zodIssues(result.error);
      throw new ServerError('invalid_command', `The edited context does not fit machine '${actor.machine}': ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}. Nothing was forked.`, { issues });
    }
  }

  /**
   * Creates a new run whose history is a copy of this run's up to the given step; it
   * then continues on its own. Risky activities it requests again wait for a new approval.
   */
  async fork(body: Body<'fork'>): Promise<ForkResult> {
    if (body.context) await this.#checkContext(body.actorId ?? body.runId, body.context);
    const fork = await asServerError(() =>
      this.#control.fork(body.runId, { seq: body.seq, ...(body.actorId ? { actorId: body.actorId } : {}), by: 'studio', ...(body.context ? { context: body.context } : {}) }),
    );
    return this.#forked(fork);
  }

  /** What the studio is told about a fork that was written. */
  #forked(fork: RunFork): ForkResult {
    this.#onRunChanged(fork.runId);
    const notes = [...fork.notes];
    if (!this.#runtime) notes.push('This server has no runtime; the fork continues when a host with its machines runs (e.g. `spine resume`).');
    return {
      runId: fork.runId,
      forkedFrom: { runId: fork.sourceRunId, actorId: fork.point.actorId, seq: fork.point.seq },
      actors: fork.actors.length,
      steps: fork.history.length,
      jobs: fork.jobs.length,
      timers: fork.events.filter((e) => e.type.startsWith('xstate.after.')).length,
      notes,
    };
  }

  /** Approves a pending approval as `by` (with an edited `input`, if given): signed, verified, applied; the run goes on. */
  async approve(body: Body<'approve'>): Promise<DecisionJson> {
    return this.#decide(body.approvalId, { decision: 'approve', by: body.by, ...(body.input !== undefined ? { input: body.input } : {}), ...(body.reason !== undefined ? { reason: body.reason } : {}) });
  }

  /** Rejects a pending approval as `by`; the machine receives the rejection as an error event. */
  async reject(body: Body<'reject'>): Promise<DecisionJson> {
    return this.#decide(body.approvalId, { decision: 'reject', by: body.by, ...(body.reason !== undefined ? { reason: body.reason } : {}) });
  }

  async #decide(approvalId: string, decision: Decision): Promise<DecisionJson> {
    const runtime = this.#needRuntime('decide approvals');
    let result: DecisionJson;
    try {
      result = await runtime.decide({ approvalId }, decision);
    } catch (error) {
      if (error instanceof SpineError && error.code === 'unknown_approval') throw new ServerError('not_found', error.message);
      if (error instanceof SpineError && error.code === 'approval_closed') throw new ServerError('conflict', error.message);
      if (error instanceof SpineError && error.code === 'no_secret') throw new ServerError('not_available', error.message);
      throw error;
    }
    this.#onRunChanged(result.runId);
    if (result.status === 'refused') throw new ServerError('conflict', `The decision was refused: ${result.reason}. It is in the audit log.`);
    return result;
  }

  #needRuntime(what: string): Runtime {
    if (!this.#runtime) {
      throw new ServerError('no_runtime', `This server cannot ${what}: it was started without machines. Start it with \`spine serve --machines DIR\`.`);
    }
    return this.#runtime;
  }
}


/** Run-control refusals of the runtime, as the studio's API has always named them. */
async function asServerError<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof SpineError) {
      if (error.code === 'unknown_run') throw new ServerError('unknown_run', error.message, { cause: error });
      if (error.code === 'unknown_step' || error.code === 'unknown_job') throw new ServerError('not_found', error.message, { cause: error });
      if (error.code === 'nothing_to_retry') throw new ServerError('nothing_to_retry', error.message, { cause: error });
    }
    throw error;
  }
}
