import { randomUUID } from 'node:crypto';
import { SpineError, zodIssues, type Decision, type JobRecord, type Runtime } from '@spine/runtime';
import { planFork, type DelayResolver } from './planFork.js';
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

  constructor(reader: RunReader, runtime: Runtime | undefined, options: { onRunChanged?: (runId: string) => void } = {}) {
    this.#reader = reader;
    this.#runtime = runtime;
    this.#onRunChanged = options.onRunChanged ?? (() => {});
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
    const root = await this.#reader.store.getActor(body.runId);
    if (!root || root.runId !== body.runId) throw new ServerError('unknown_run', `No run with id '${body.runId}'.`);
    const stopped = await this.#reader.store.stopRun(body.runId, { reason: body.reason ?? 'cancelled from the studio', now: Date.now(), by: 'studio' });
    if (!stopped.length) throw new ServerError('conflict', `Run '${body.runId}' is already ${root.status}; nothing to cancel.`);
    this.#onRunChanged(body.runId);
    return { runId: body.runId, stopped };
  }

  /**
   * Retries a failed step. A job waiting out a back-off runs now. A job that
   * failed for good has already been applied to the machine, and durable history
   * is never rewritten: the run is forked from the step before the failure was
   * applied, which requests the activity again in the new run. An actor that
   * failed in a step is forked from the step before.
   */
  async retry(body: Body<'retry'>): Promise<RetryResult> {
    const store = this.#reader.store;
    const root = await store.getActor(body.runId);
    if (!root || root.runId !== body.runId) throw new ServerError('unknown_run', `No run with id '${body.runId}'.`);
    const jobs = await store.listJobs({ runId: body.runId });
    let job: JobRecord | undefined;
    if (body.jobKey) {
      job = jobs.find((j) => j.key === body.jobKey);
      if (!job) throw new ServerError('not_found', `Run '${body.runId}' has no job '${body.jobKey}'.`);
    } else {
      const now = Date.now();
      job = [...jobs].reverse().find((j) => j.status === 'failed' || (j.status === 'pending' && j.attempts > 0 && j.runAt > now));
    }
    if (job?.status === 'pending') {
      if (!(await store.rescheduleJob(job.key, Date.now()))) throw new ServerError('conflict', `Job '${job.key}' is no longer waiting to retry.`);
      await this.#runtime?.poke();
      return { mode: 'now', jobKey: job.key };
    }
    if (job) {
      if (job.status !== 'failed') throw new ServerError('nothing_to_retry', `Job '${job.key}' is ${job.status}; only failed or backing-off jobs can be retried.`);
      const applied = await this.#failureStep(job.actorId, (type) => type === `xstate.error.actor.${job.childId}`);
      if (!applied) throw new ServerError('nothing_to_retry', `The failure of job '${job.key}' has not been applied yet; it will arrive as a step.`);
      const fork = await this.fork({ runId: body.runId, actorId: job.actorId, seq: applied - 1 });
      return { mode: 'fork', jobKey: job.key, ...fork };
    }
    const actors = await store.listActors({ runId: body.runId, status: ['error'], limit: 1000 });
    for (const actor of actors) {
      const failed = await this.#failureStep(actor.id, (_type, status) => status === 'error');
      if (failed && failed > 1) {
        const fork = await this.fork({ runId: body.runId, actorId: actor.id, seq: failed - 1 });
        return { mode: 'fork', jobKey: null, ...fork };
      }
    }
    throw new ServerError('nothing_to_retry', `Run '${body.runId}' has no failed step: no failed or backing-off job and no failed actor.`);
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
    const newRunId = `fork-${Date.now().toString(36)}-${randomUUID().slice(0, 6)}`;
    const runtime = this.#runtime;
    const delays: DelayResolver = (machine) => (runtime?.registry.has(machine) ? runtime.registry.definition(machine).delays : undefined);
    if (body.context) await this.#checkContext(body.actorId ?? body.runId, body.context);
    const plan = await planFork(this.#reader.store, {
      runId: body.runId,
      ...(body.actorId ? { actorId: body.actorId } : {}),
      seq: body.seq,
      newRunId,
      now: Date.now(),
      delays,
      by: 'studio',
      ...(body.context ? { context: body.context } : {}),
    });
    await this.#reader.store.forkRun(plan);
    this.#onRunChanged(newRunId);
    await runtime?.poke();
    const notes = [...plan.notes];
    if (!runtime) notes.push('This server has no runtime; the fork continues when a host with its machines runs (e.g. `spine resume`).');
    return {
      runId: newRunId,
      forkedFrom: { runId: body.runId, actorId: plan.point.actorId, seq: plan.point.seq },
      actors: plan.actors.length,
      steps: plan.history.length,
      jobs: plan.jobs.length,
      timers: plan.events.filter((e) => e.type.startsWith('xstate.after.')).length,
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

  /** The seq of the first step of an actor matching `test`, if any. */
  async #failureStep(actorId: string, test: (eventType: string, status: string) => boolean): Promise<number | undefined> {
    const history = await this.#reader.store.history(actorId);
    return history.find((h) => test(h.eventType, h.status))?.seq;
  }

  #needRuntime(what: string): Runtime {
    if (!this.#runtime) {
      throw new ServerError('no_runtime', `This server cannot ${what}: it was started without machines. Start it with \`spine serve --machines DIR\`.`);
    }
    return this.#runtime;
  }
}

