import { performance } from 'node:perf_hooks';
import type { EventObject } from 'xstate';
import type { Clock } from '../clock.js';
import type { Activity, ActivityContext } from '../defineMachine.js';
import { RetryableError, SpineError, TerminalError, ensureError, serializeError, formatIssues } from '../errors.js';
import { auditOfAttempt } from '../auditOfAttempt.js';
import { describeIssues, eventIssues, safeStringify } from '../machineInput.js';
import type { MachineRegistry } from '../MachineRegistry.js';
import { riskPolicies, type RiskPolicy } from '../riskPolicy.js';
import type { ActorRecord, HostStore, JobCompletion, JobRecord } from '../Store.js';
import type { ActivitySpan, RunTelemetry } from '../telemetry.js';
import { zodIssues } from '../validateEvent.js';
import { ownValue } from '../names.js';
import { encodeRejection } from './encodeRejection.js';

/** What the activity runner needs from its host. */
export interface ActivityHost {
  store: HostStore;
  registry: MachineRegistry;
  clock: Clock;
  hostId: string;
  telemetry: RunTelemetry;
  runActivities: boolean;
  stopping(): boolean;
  deadOwners(): string[];
  onError(error: Error, where: string): void;
  /** An event reached an actor's mailbox. */
  kick(actorId: string): void;
  /**
   * Hands an attempt's outcome to the invoking actor: the job's completion and the
   * step its event causes are committed together (see `StepRunner.deliver`).
   */
  deliver(completion: JobCompletion): void;
  /** The actor as this host last committed it (its cache), else as stored. */
  actor(actorId: string): Promise<ActorRecord | undefined>;
  /** A durable back-off was written: look again at the next wake time. */
  scheduleWake(): void;
  /** A job settled (or turned out to be long-lived): wake whoever waits for idleness. */
  settled(): void;
}

/**
 * Runs activity jobs after the steps that requested them committed: claims a job
 * (unless the step's own commit claimed it), runs one attempt, and hands its result
 * to the step runner, which journals it and applies `xstate.done.actor.<id>` /
 * `xstate.error.actor.<id>` in one transaction (or journals its durable back-off).
 * Temporal's split: the poll loop lives in the scheduler, one attempt lives here.
 */
export class ActivityRunner {
  readonly #host: ActivityHost;
  readonly #jobs = new Map<string, AbortController>();
  readonly #jobChild = new Map<string, string>();
  readonly #promises = new Set<Promise<void>>();
  /** Long-lived activities (callback actors): `idle()` does not wait for them, `stop()` does. */
  readonly #longLived = new Set<Promise<void>>();
  readonly #promiseOf = new Map<string, Promise<void>>();

  constructor(host: ActivityHost) {
    this.#host = host;
  }

  /** Jobs this host runs now, long-lived ones aside. */
  get running(): ReadonlySet<Promise<void>> {
    return this.#promises;
  }

  /**
   * Starts a job in this host unless it already runs here. `claimed` is the job as the
   * commit that created it claimed it for this host (then no claim is needed).
   */
  start(key: string, claimed?: JobRecord): void {
    if (!this.#host.runActivities || this.#host.stopping() || this.#jobs.has(key)) return;
    const controller = new AbortController();
    this.#jobs.set(key, controller);
    const promise = this.#run(key, controller, claimed)
      .catch((error) => this.#host.onError(ensureError(error), `activity ${key}`))
      .finally(() => {
        this.#jobs.delete(key);
        this.#promises.delete(promise);
        this.#longLived.delete(promise);
        this.#promiseOf.delete(key);
        this.#host.settled();
      });
    this.#promises.add(promise);
    this.#promiseOf.set(key, promise);
  }

  /** Aborts this host's running attempts of an actor's jobs for one invoke id (or all, with '*'). */
  abort(actorId: string, childId: string): void {
    for (const [key, controller] of this.#jobs) {
      if (!key.startsWith(`${actorId}:`)) continue;
      if (childId === '*' || this.#jobChild.get(key) === childId) controller.abort(new SpineError('closed', 'The invoking state was left.'));
    }
  }

  /** Aborts every running attempt (they run again on the next start) and waits for them to settle. */
  async stop(): Promise<void> {
    for (const controller of this.#jobs.values()) controller.abort(new SpineError('closed', 'The host is stopping.'));
    await Promise.allSettled([...this.#promises, ...this.#longLived]);
  }

  async #run(key: string, controller: AbortController, claimed: JobRecord | undefined): Promise<void> {
    const job = claimed ?? (await this.#host.store.claimJob(key, this.#host.hostId, this.#host.clock.now(), this.#host.deadOwners()));
    if (!job) return;
    this.#jobChild.set(key, job.childId);
    try {
      await this.#attempt(job, controller);
    } finally {
      this.#jobChild.delete(key);
    }
  }

  async #attempt(job: JobRecord, controller: AbortController): Promise<void> {
    const actor = await this.#host.actor(job.actorId);
    if (!actor) return;
    const definition = this.#host.registry.definition(actor.machine);
    const activity = ownValue(definition.activities, job.src);
    if (activity?.kind === 'callback') {
      const promise = this.#promiseOf.get(job.key);
      if (promise && this.#promises.delete(promise)) this.#longLived.add(promise);
      this.#host.settled();
    }
    const journal = JSON.parse(job.journal) as Record<string, unknown>[];
    const entry: Record<string, unknown> = { attempt: job.attempts, host: this.#host.hostId, startedAt: this.#host.clock.now() };
    const context = actor.snapshot ? (JSON.parse(actor.snapshot) as { context?: unknown }).context : undefined;
    const t0 = performance.now();
    let tier: RiskPolicy['tier'] | undefined;
    try {
      tier = riskPolicies((await this.#host.registry.pinned(actor.machine, actor.version, this.#host.store)).machine).get(job.childId)?.tier;
    } catch {
      tier = undefined; // an invalid policy already failed the step that requested this job
    }
    const span: ActivitySpan = this.#host.telemetry.activity({ runId: job.runId, actorId: job.actorId, jobKey: job.key, src: job.src, attempt: job.attempts, startedAt: entry.startedAt as number });
    const finishEntry = (outcome: string, extra: Record<string, unknown> = {}) => {
      Object.assign(entry, { outcome, durationMs: Math.round((performance.now() - t0) * 100) / 100 }, extra);
      span.end(entry, outcome === 'ok' ? 'ok' : outcome === 'retry' ? 'retry' : 'failed', this.#host.clock.now());
      return JSON.stringify([...journal, entry]);
    };
    const audit = (outcome: string) => auditOfAttempt({ job, machine: actor.machine, tier, entry, outcome, now: this.#host.clock.now() });
    const deliver = (status: 'done' | 'failed', value: unknown) => {
      const event =
        status === 'done'
          ? { type: `xstate.done.actor.${job.childId}`, output: value, actorId: job.childId }
          : { type: `xstate.error.actor.${job.childId}`, error: value, actorId: job.childId };
      this.#host.deliver({
        key: job.key,
        owner: this.#host.hostId,
        status,
        output: status === 'done' ? JSON.stringify(value ?? null) : null,
        error: status === 'failed' ? JSON.stringify(value) : null,
        journal: finishEntry(status === 'done' ? 'ok' : 'failed', status === 'failed' ? { error: value } : {}),
        event: { actorId: job.actorId, type: event.type, event: JSON.stringify(event), dueAt: this.#host.clock.now(), source: `activity:${job.key}` },
        audit: audit(status === 'done' ? 'ok' : 'failed'),
      });
    };
    if (!activity) {
      deliver('failed', { name: 'SpineError', code: 'unknown_activity', message: `Machine '${actor.machine}' has no activity '${job.src}'.` });
      return;
    }
    const ctx: ActivityContext = {
      key: job.key,
      attempt: job.attempts,
      actorId: job.actorId,
      runId: job.runId,
      machine: actor.machine,
      childId: job.childId,
      signal: controller.signal,
      context,
      now: () => this.#host.clock.now(),
      record: (facts) => void Object.assign(entry, facts),
      previousAttempts: journal,
      runJournal: async () => {
        const jobs = await this.#host.store.listJobs({ runId: job.runId });
        return jobs.flatMap((j) => (j.key === job.key ? journal : (JSON.parse(j.journal) as Record<string, unknown>[])));
      },
      send: async (event) => {
        if (controller.signal.aborted) return;
        await this.#sendFromActivity(job, actor.machine, event);
      },
    };
    try {
      const input = activity.input ? parseActivityInput(activity, JSON.parse(job.input)) : JSON.parse(job.input);
      let output = await withTimeout(activity.run(input, ctx), activity.timeoutMs, controller);
      if (activity.output) output = activity.output.parse(output);
      if (controller.signal.aborted) {
        span.end(entry, 'aborted', this.#host.clock.now());
        return;
      }
      deliver('done', output);
    } catch (thrown) {
      if (controller.signal.aborted && !(RetryableError.is(thrown) && thrown.kind === 'timeout')) {
        span.end(entry, 'aborted', this.#host.clock.now());
        return; // stopping or cancelled: the store decides what runs again
      }
      const error = ensureError(thrown);
      const maxAttempts = activity.maxAttempts ?? 10;
      let delay: number | undefined;
      if (RetryableError.is(error)) delay = error.retryAfterMs ?? backoff(job.attempts, {});
      else if (!TerminalError.is(error) && activity.retry && job.attempts < activity.retry.maxAttempts) delay = backoff(job.attempts, activity.retry);
      if (delay !== undefined && job.attempts < maxAttempts) {
        const runAt = this.#host.clock.now() + delay;
        const retried = await this.#host.store.retryJob({
          key: job.key,
          owner: this.#host.hostId,
          runAt,
          journal: finishEntry('retry', { error: serializeError(error), retryInMs: delay }),
          audit: audit('retry'),
        });
        if (retried) this.#host.scheduleWake();
        return;
      }
      deliver('failed', encodeRejection(thrown));
    }
  }

  /** An event an activity sends to the actor that invoked it (a callback's `sendBack`), through its durable mailbox. */
  async #sendFromActivity(job: JobRecord, machine: string, event: EventObject): Promise<void> {
    const json = safeStringify(event);
    const source = `activity:${job.key}`;
    const issues = json === undefined ? [{ path: '(event)', message: 'the event is not JSON-serialisable' }] : eventIssues(this.#host.registry.definition(machine), event);
    if (issues.length || json === undefined) {
      await this.#host.store.recordDeadLetters([{ actorId: job.actorId, event: json ?? '{}', reason: describeIssues(machine, event?.type, issues), issues: JSON.stringify(issues), source }]);
      return;
    }
    await this.#host.store.enqueue([{ actorId: job.actorId, type: event.type, event: json, dueAt: this.#host.clock.now(), source }]);
    this.#host.kick(job.actorId);
  }
}

function parseActivityInput(activity: Activity, input: unknown): unknown {
  const result = activity.input!.safeParse(input);
  if (result.success) return result.data;
  const issues = zodIssues(result.error);
  throw new TerminalError(`Invalid activity input: ${formatIssues(issues)}`, { kind: 'invalid_input' });
}

function backoff(attempt: number, policy: { initialDelayMs?: number; maxDelayMs?: number; factor?: number }): number {
  const initial = policy.initialDelayMs ?? 500;
  const max = policy.maxDelayMs ?? 60_000;
  const factor = policy.factor ?? 2;
  return Math.min(max, initial * factor ** Math.max(0, attempt - 1));
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number | undefined, controller: AbortController): Promise<T> {
  if (!timeoutMs) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new RetryableError(`Activity timed out after ${timeoutMs} ms.`, { kind: 'timeout' });
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
