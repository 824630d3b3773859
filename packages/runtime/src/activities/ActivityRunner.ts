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
import { takenOver } from '../step/GroupCommit.js';
import type { FenceNotice } from '../step/StepRunner.js';
import { zodIssues } from '../validateEvent.js';
import { ownValue } from '../names.js';
import { encodeRejection } from './encodeRejection.js';
import { snapshotContext } from '../snapshotCodec.js';
import { actorOfJobKey, runOf } from '../step/jobKey.js';

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
  /** The actor as this host last committed it (its cache, at once), else as stored. */
  actor(actorId: string): ActorRecord | undefined | Promise<ActorRecord | undefined>;
  /** A durable back-off was written: look again at the next wake time. */
  scheduleWake(): void;
  /** A job settled (or turned out to be long-lived): wake whoever waits for idleness. */
  settled(): void;
  /** A job of the run's ended here (whoever waits for the run looks again). */
  jobEnded?(runId: string): void;
  /** Live observers of partial output (display only, never stored); `watched()` says whether any listen. */
  partials: { watched(): boolean; publish(notice: PartialNotice): void };
  /** A retry of this host was refused: the job was taken over (see `StepHost.fenced`). */
  fenced(notice: FenceNotice): void;
  /** Most attempts running at once in this host (default: no limit); more wait, claimed, in order. */
  maxRunning?: number;
}

/** A running attempt's partial output, or (`ended`) the end of that attempt, for live observers. */
export interface PartialNotice {
  runId: string;
  actorId: string;
  jobKey: string;
  childId: string;
  src: string;
  attempt: number;
  /** Everything the attempt produced so far; empty when `ended`. */
  text: string;
  at: number;
  /** The attempt is over (journaled, retried, failed or aborted): drop its partial output. */
  ended?: true;
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
  /** The jobs started here and not yet ended, by key: one record each (see `RunningJob`). */
  readonly #jobs = new Map<string, RunningJob>();
  /** The jobs in `#jobs` by actor, so that a step leaving an invoke aborts without looking at every job running here. */
  readonly #jobsOf = new Map<string, Set<RunningJob>>();
  /** How many jobs of each run this host runs now (`runBusy`). */
  readonly #jobsOfRun = new Map<string, number>();
  /** Sends from activities and deliveries to them, in flight: `idle()` waits for them. */
  readonly #inFlight = new Set<Promise<unknown>>();
  /** The last delivery per actor, so an actor's events reach its activities in the order sent. */
  readonly #deliveries = new Map<string, Promise<void>>();
  /** Jobs waiting for a free slot (`maxRunning`), in the order started, with the claim their commit made. */
  readonly #waiting = new Map<string, JobRecord | undefined>();

  constructor(host: ActivityHost) {
    this.#host = host;
  }

  /** Jobs this host runs now (long-lived ones aside), and sends and deliveries in flight. */
  get running(): ReadonlySet<Promise<unknown>> {
    const running = new Set<Promise<unknown>>(this.#inFlight);
    // Long-lived activities (callback actors) are not waited for by `idle()`; `stop()` waits for them.
    for (const job of this.#jobs.values()) if (!job.longLived) running.add(job.promise);
    return running;
  }

  /**
   * Delivers an event a committed step sent to one of its activity children (a callback's
   * `receive`) to the attempt of that child running in this host. In memory, as xstate keeps
   * it: when no attempt of it runs here (another host runs it, or it ended), the event is
   * dead-lettered with the reason.
   */
  deliver(actorId: string, childId: string, event: EventObject): void {
    const previous = this.#deliveries.get(actorId) ?? Promise.resolve();
    const delivery = previous
      .then(() => this.#deliver(actorId, childId, event))
      .catch((error) => this.#host.onError(ensureError(error), `delivery to ${actorId}/${childId}`));
    this.#deliveries.set(actorId, delivery);
    this.#track(delivery);
    void delivery.finally(() => {
      if (this.#deliveries.get(actorId) === delivery) this.#deliveries.delete(actorId);
    });
  }

  async #deliver(actorId: string, childId: string, event: EventObject): Promise<void> {
    let target: RunningJob | undefined;
    for (const job of [...(this.#jobsOf.get(actorId) ?? [])]) {
      // A job started here but not yet claimed: its invoke id is known once it is.
      if ((await job.claimed()) === childId && !job.abort.aborted && this.#jobs.get(job.key) === job) target = job;
    }
    if (target) {
      if (target.listeners) for (const listener of [...target.listeners]) listener(event);
      else if (!target.started) target.pending.push(event);
      return;
    }
    const reason = `No attempt of activity '${childId}' of actor '${actorId}' runs in host ${this.#host.hostId}: an event sent to an activity child reaches it only in the host that runs it, while it runs.`;
    await this.#host.store.recordDeadLetters([{ actorId, event: safeStringify(event) ?? '{}', reason, issues: null, source: actorId }]);
  }

  #track(promise: Promise<unknown>): void {
    this.#inFlight.add(promise);
    const done = () => {
      this.#inFlight.delete(promise);
      this.#host.settled();
    };
    promise.then(done, done); // its rejection is the caller's to handle
  }

  /**
   * Starts a job in this host unless it already runs here. `claimed` is the job as the
   * commit that created it claimed it for this host (then no claim is needed).
   */
  start(key: string, claimed?: JobRecord): void {
    if (!this.#host.runActivities || this.#host.stopping() || this.#jobs.has(key)) return;
    if (this.#jobs.size >= (this.#host.maxRunning ?? Infinity)) {
      if (!this.#waiting.has(key) || claimed) this.#waiting.set(key, claimed);
      return;
    }
    this.#waiting.delete(key);
    const job = new RunningJob(key, actorOfJobKey(key));
    this.#jobs.set(key, job);
    const ofActor = this.#jobsOf.get(job.actorId);
    if (ofActor) ofActor.add(job);
    else this.#jobsOf.set(job.actorId, new Set([job]));
    this.#jobsOfRun.set(job.runId, (this.#jobsOfRun.get(job.runId) ?? 0) + 1);
    job.promise = this.#runJob(job, claimed);
  }

  /** One job's attempt from claim to result, then its record removed and the next waiting job started. */
  async #runJob(running: RunningJob, claimed: JobRecord | undefined): Promise<void> {
    try {
      const job = claimed ?? (await this.#host.store.claimJob(running.key, this.#host.hostId, this.#host.clock.now(), this.#host.deadOwners()));
      running.claim(job?.childId);
      if (job) {
        running.running = true;
        try {
          await this.#attempt(job, running);
        } finally {
          running.running = false;
        }
        if (running.handBack && running.abort.aborted) {
          // Conditional on owner and attempt: a job the new owner already claimed is left alone.
          await this.#host.store.retryJob({ key: running.key, owner: this.#host.hostId, attempt: job.attempts, runAt: this.#host.clock.now(), journal: job.journal });
        }
      }
    } catch (error) {
      this.#host.onError(ensureError(error), `activity ${running.key}`);
    } finally {
      running.claim(undefined);
      if (this.#jobs.get(running.key) === running) this.#jobs.delete(running.key);
      const ofActor = this.#jobsOf.get(running.actorId);
      if (ofActor?.delete(running) && !ofActor.size) this.#jobsOf.delete(running.actorId);
      const left = (this.#jobsOfRun.get(running.runId) ?? 1) - 1;
      if (left > 0) this.#jobsOfRun.set(running.runId, left);
      else this.#jobsOfRun.delete(running.runId);
      this.#startWaiting();
      this.#host.jobEnded?.(running.runId);
      this.#host.settled();
    }
  }

  /** Whether a job of the run runs here now, or waits here for a free slot. */
  runBusy(runId: string): boolean {
    if (this.#jobsOfRun.has(runId)) return true;
    for (const key of this.#waiting.keys()) if (runOf(actorOfJobKey(key)) === runId) return true;
    return false;
  }

  /** Starts the oldest waiting job, now that a slot is free. */
  #startWaiting(): void {
    const next = this.#waiting.entries().next();
    if (next.done) return;
    const [key, claimed] = next.value;
    this.#waiting.delete(key);
    this.start(key, claimed);
  }

  /** Aborts this host's running attempts of an actor's jobs for one invoke id (or all, with '*'). */
  abort(actorId: string, childId: string): void {
    const jobs = this.#jobsOf.get(actorId);
    if (!jobs) return;
    for (const job of [...jobs]) {
      if (childId === '*' || (job.running && job.childId === childId)) job.abort.abort(new SpineError('closed', 'The invoking state was left.'));
    }
  }

  /**
   * Aborts this host's attempts of an actor another host took over. A job that is still this
   * host's attempt (the new owner could not claim it: this host renewed its lease first) is put
   * back to pending once its attempt ends, so the new owner runs it under the same key.
   */
  abortFenced(actorId: string): void {
    for (const job of [...(this.#jobsOf.get(actorId) ?? [])]) {
      job.handBack = true;
      job.abort.abort(new SpineError('conflict', `Actor '${actorId}' is owned by another host now.`));
    }
    for (const key of this.#waiting.keys()) if (key.startsWith(`${actorId}:`)) this.#waiting.delete(key);
  }

  /** Aborts every running attempt (they run again on the next start) and waits for them to settle. */
  async stop(): Promise<void> {
    this.#waiting.clear(); // claimed ones are released with the host's ownership
    const jobs = [...this.#jobs.values()];
    for (const job of jobs) job.abort.abort(new SpineError('closed', 'The host is stopping.'));
    await Promise.allSettled([...jobs.map((job) => job.promise), ...this.#inFlight]);
  }

  async #attempt(job: JobRecord, running: RunningJob): Promise<void> {
    const attempt = running.abort;
    const held = this.#host.actor(job.actorId);
    const actor = held && 'then' in held ? await held : held;
    if (!actor) return;
    const definition = this.#host.registry.definition(actor.machine);
    const activity = ownValue(definition.activities, job.src);
    // A callback is long-lived: once it has been called (and its first sends are in flight), `idle()` stops waiting for it.
    const turnLongLived = () => {
      if (activity?.kind !== 'callback') return;
      running.longLived = true;
      this.#host.settled();
    };
    const journal = (job.journal === '[]' ? [] : JSON.parse(job.journal)) as Record<string, unknown>[];
    const entry: Record<string, unknown> = { attempt: job.attempts, host: this.#host.hostId, startedAt: this.#host.clock.now() };
    const t0 = performance.now();
    let tier: RiskPolicy['tier'] | undefined;
    try {
      const { registry } = this.#host;
      const version = registry.built(actor.machine, actor.version) ?? (await registry.pinned(actor.machine, actor.version, this.#host.store));
      tier = riskPolicies(version.machine).get(job.childId)?.tier;
    } catch {
      tier = undefined; // an invalid policy already failed the step that requested this job
    }
    const span: ActivitySpan = this.#host.telemetry.activity({ runId: job.runId, actorId: job.actorId, jobKey: job.key, src: job.src, attempt: job.attempts, startedAt: entry.startedAt as number });
    const finishEntry = (outcome: string, extra?: Record<string, unknown>) => {
      entry.outcome = outcome;
      entry.durationMs = Math.round((performance.now() - t0) * 100) / 100;
      if (extra) Object.assign(entry, extra);
      span.end(entry, outcome === 'ok' ? 'ok' : outcome === 'retry' ? 'retry' : 'failed', this.#host.clock.now());
      return JSON.stringify([...journal, entry]);
    };
    const audit = (outcome: string) => auditOfAttempt({ job, machine: actor.machine, tier, entry, outcome, now: this.#host.clock.now() });
    const deliver = (status: 'done' | 'failed', value: unknown) => {
      // The value is written once and the event made around its text, as JSON.stringify of
      // { type, output | error, actorId } writes it (the key left out when the value writes as
      // nothing): an output of a model call can be large, and it was written twice.
      const type = `xstate.${status === 'done' ? 'done' : 'error'}.actor.${job.childId}`;
      const json = JSON.stringify(value) as string | undefined;
      const event = `{"type":${JSON.stringify(type)},${json === undefined ? '' : `"${status === 'done' ? 'output' : 'error'}":${json},`}"actorId":${JSON.stringify(job.childId)}}`;
      const now = this.#host.clock.now();
      this.#host.deliver({
        key: job.key,
        owner: this.#host.hostId,
        attempt: job.attempts,
        status,
        finishedAt: now,
        output: status === 'done' ? (value === undefined || value === null ? 'null' : json!) : null,
        error: status === 'failed' ? json! : null,
        journal: finishEntry(status === 'done' ? 'ok' : 'failed', status === 'failed' ? { error: value } : undefined),
        event: { actorId: job.actorId, type, event, dueAt: now, source: `activity:${job.key}` },
        audit: audit(status === 'done' ? 'ok' : 'failed'),
      });
    };
    if (!activity) {
      deliver('failed', { name: 'SpineError', code: 'unknown_activity', message: `Machine '${actor.machine}' has no activity '${job.src}'.` });
      return;
    }
    // Made when the activity first streams partial output (most never do): its end is then published too.
    let noticeBase: Omit<PartialNotice, 'text' | 'at'> | undefined;
    let sendChain: Promise<void> | undefined;
    const ctx = new AttemptContext(job, actor, journal, attempt, this.#host.partials, {
      now: () => this.#host.clock.now(),
      record: (facts) => void Object.assign(entry, facts),
      runJournal: async () => {
        const jobs = await this.#host.store.listJobs({ runId: job.runId });
        return jobs.flatMap((j) => (j.key === job.key ? journal : (JSON.parse(j.journal) as Record<string, unknown>[])));
      },
      send: (event) => {
        if (attempt.aborted) return Promise.resolve();
        // One after the other, in the order sent; counted as work in flight until enqueued.
        const sent = (sendChain ?? Promise.resolve()).then(() => this.#sendFromActivity(job, actor.machine, event));
        sendChain = sent.catch(() => {});
        this.#track(sent);
        return sent;
      },
      receive: (listener) => {
        (running.listeners ??= new Set()).add(listener);
      },
      progress: (partial) => {
        if (attempt.aborted || typeof partial?.text !== 'string') return;
        noticeBase ??= { runId: job.runId, actorId: job.actorId, jobKey: job.key, childId: job.childId, src: job.src, attempt: job.attempts };
        this.#host.partials.publish({ ...noticeBase, text: partial.text, at: this.#host.clock.now() });
      },
    });
    try {
      const input = activity.input ? parseActivityInput(activity, JSON.parse(job.input)) : JSON.parse(job.input);
      const result = activity.run(input, ctx);
      // Events that arrived before the attempt started go to its listeners now (xstate's mailbox does the same at start).
      running.started = true;
      for (const event of running.pending.splice(0)) for (const listener of [...(running.listeners ?? [])]) listener(event);
      turnLongLived();
      let output = await withTimeout(result, activity.timeoutMs, attempt);
      if (activity.output) output = activity.output.parse(output);
      if (attempt.aborted) {
        span.end(entry, 'aborted', this.#host.clock.now());
        return;
      }
      deliver('done', output);
    } catch (thrown) {
      if (attempt.aborted && !(RetryableError.is(thrown) && thrown.kind === 'timeout')) {
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
        const retry = {
          key: job.key,
          owner: this.#host.hostId,
          attempt: job.attempts,
          runAt,
          journal: finishEntry('retry', { error: serializeError(error), retryInMs: delay }),
          audit: audit('retry'),
        };
        if (await this.#host.store.retryJob(retry)) this.#host.scheduleWake();
        else if (await takenOver(this.#host.store, retry)) {
          this.#host.fenced({ kind: 'job.result_refused', actorId: job.actorId, runId: job.runId, jobKey: job.key, reason: `the retry of attempt ${job.attempts} was refused: the job was claimed again by another host or attempt` });
        }
        return;
      }
      deliver('failed', encodeRejection(thrown));
    } finally {
      if (noticeBase) this.#host.partials.publish({ ...noticeBase, text: '', at: this.#host.clock.now(), ended: true });
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

/** The methods of an attempt's context (own functions, so an activity may take them apart: `({ record }) => …`). */
type AttemptMethods = Pick<ActivityContext, 'now' | 'record' | 'runJournal' | 'send' | 'progress'> & Required<Pick<ActivityContext, 'receive'>>;

/**
 * What an attempt's `run` gets. A class rather than an object literal: a literal with getters
 * costs about a microsecond to make on this machine, more than many an activity takes to run.
 */
class AttemptContext implements ActivityContext {
  readonly key: string;
  readonly attempt: number;
  readonly actorId: string;
  readonly runId: string;
  readonly machine: string;
  readonly childId: string;
  readonly previousAttempts: readonly Record<string, unknown>[];
  readonly now: AttemptMethods['now'];
  readonly record: AttemptMethods['record'];
  readonly runJournal: AttemptMethods['runJournal'];
  readonly send: AttemptMethods['send'];
  readonly receive: AttemptMethods['receive'];
  readonly progress: AttemptMethods['progress'];
  readonly #abort: AttemptAbort;
  readonly #snapshot: string | null;
  readonly #partials: ActivityHost['partials'];
  #context: { value: unknown } | undefined;

  constructor(job: JobRecord, actor: ActorRecord, previousAttempts: readonly Record<string, unknown>[], abort: AttemptAbort, partials: ActivityHost['partials'], methods: AttemptMethods) {
    this.key = job.key;
    this.attempt = job.attempts;
    this.actorId = job.actorId;
    this.runId = job.runId;
    this.machine = actor.machine;
    this.childId = job.childId;
    this.previousAttempts = previousAttempts;
    this.now = methods.now;
    this.record = methods.record;
    this.runJournal = methods.runJournal;
    this.send = methods.send;
    this.receive = methods.receive;
    this.progress = methods.progress;
    this.#abort = abort;
    this.#snapshot = actor.snapshot;
    this.#partials = partials;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Parsed from the actor's record when first read: most activities never look. */
  get context(): unknown {
    return (this.#context ??= { value: snapshotContext(this.#snapshot) }).value;
  }

  get watched(): boolean {
    return this.#partials.watched();
  }
}

/**
 * An attempt's abort. Its AbortController (whose signal costs more to create than many an activity
 * costs to run) is made only when the activity reads `signal`; one read after the abort is aborted
 * already, with the same reason.
 */
class AttemptAbort {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  get aborted(): boolean {
    return this.#aborted;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/**
 * A job started in this host, until its attempt ends: its abort, its invoke id once claimed, and
 * where events sent to that invoke id go while it runs (a callback's `receive`).
 */
class RunningJob {
  readonly abort = new AttemptAbort();
  /** The attempt's promise (settles once the job's record is removed). */
  promise!: Promise<void>;
  /** The job's invoke id once claimed: null when the claim failed (or the job ended first), undefined until then. */
  childId: string | null | undefined = undefined;
  /** Those waiting to learn `childId` (a delivery that came before the claim). */
  #claimWaiters: ((childId: string | null) => void)[] | undefined;
  /** The attempt runs (claimed, not yet ended): `abort` by invoke id reaches it. */
  running = false;
  /** A callback actor's attempt once called: `idle()` stops waiting for it, `stop()` does not. */
  longLived = false;
  /** Aborted because its actor was taken over: handed back (pending) if it is still this host's attempt. */
  handBack = false;
  /** Whether `run` has been called: events wait in `pending` until then. */
  started = false;
  pending: EventObject[] = [];
  listeners?: Set<(event: EventObject) => void>;
  /** The run of its actor. */
  readonly runId: string;

  constructor(
    readonly key: string,
    readonly actorId: string,
  ) {
    this.runId = runOf(actorId);
  }

  /** The job's invoke id, once claimed (null: not claimed here). */
  claimed(): Promise<string | null> | string | null {
    if (this.childId !== undefined) return this.childId;
    return new Promise((resolve) => (this.#claimWaiters ??= []).push(resolve));
  }

  /** The claim's outcome (only the first counts). */
  claim(childId: string | undefined): void {
    if (this.childId !== undefined) return;
    this.childId = childId ?? null;
    for (const waiter of this.#claimWaiters?.splice(0) ?? []) waiter(this.childId);
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

/** The attempt's promise, or one that fails (and aborts the attempt) when it takes longer than `timeoutMs`. */
function withTimeout<T>(promise: Promise<T>, timeoutMs: number | undefined, attempt: AttemptAbort): Promise<T> {
  return timeoutMs ? raceTimeout(promise, timeoutMs, attempt) : promise;
}

async function raceTimeout<T>(promise: Promise<T>, timeoutMs: number, attempt: AttemptAbort): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new RetryableError(`Activity timed out after ${timeoutMs} ms.`, { kind: 'timeout' });
      attempt.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
