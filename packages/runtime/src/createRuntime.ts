// The runtime's facade: it wires the scheduler, the step runner, the activity runner, the
// approval desk and run control over one store, and documents each public method; the work
// itself lives in host/, step/, activities/ and control/.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { EventObject } from 'xstate';
import { ActivityRunner, type PartialNotice } from './activities/ActivityRunner.js';
import { ApprovalDesk, type Decision, type DecisionOutcome } from './ApprovalDesk.js';
import { systemClock, type Clock } from './clock.js';
import { createControl, type Control } from './control/index.js';
import type { MachineDefinition } from './defineMachine.js';
import { SpineError, ensureError, type FieldIssue } from './errors.js';
import { RunStarts } from './host/RunStarts.js';
import { Scheduler } from './host/Scheduler.js';
import { DEFAULT_LEASE_MS } from './host/lease.js';
import { describeIssues, eventIssues, initEvent, parseInput, RESERVED_EVENT, safeStringify } from './machineInput.js';
import { MachineRegistry } from './MachineRegistry.js';
import { redactingStore, Redactor, secretsFromEnv } from './redact.js';
import { ensureSecret, readSecret } from './secretFile.js';
import { StepRunner, type FenceNotice, type StepNotice } from './step/StepRunner.js';
import { HostFailure, isPersistentStorageError } from './hostFailure.js';
import { depthProblem } from './inputLimits.js';
import { RunTelemetry } from './telemetry.js';
import type { ActorRecord, ActorStatus, ApprovalRecord, CreatedActors, NewActor, NewDeadLetter, Store } from './Store.js';

export type { StepNotice } from './step/StepRunner.js';
export type { PartialNotice } from './activities/ActivityRunner.js';
export { encodeRejection } from './activities/encodeRejection.js';

/** Options of `createRuntime`; every field but `store` and `machines` has a default. */
export interface RuntimeOptions {
  store: Store;
  /** Machines this host can run, as definitions or a registry. */
  machines: MachineRegistry | MachineDefinition[];
  /** Default: the wall clock. */
  clock?: Clock;
  /** Default: a random id; names this host in the store. */
  hostId?: string;
  /**
   * The machine name this host registers under (default `os.hostname()`). A host of the same name
   * whose pid is gone is known dead at once, without waiting for its lease: processes that share a
   * name but not a pid namespace (containers given one hostname) must each get their own.
   */
  hostname?: string;
  /** Generates run ids. Default: time-ordered random ids. */
  newRunId?: () => string;
  /**
   * How often the host looks for work written by other processes (default 100 ms). With a store
   * that wakes hosts (`onWake`: both of Spine's), the poll is the fallback: each poll that finds no
   * work doubles the wait before the next, up to ten times this (at most a third of the lease), and
   * a wake or a poll that finds work brings it back.
   */
  pollIntervalMs?: number;
  /**
   * How long this host's lease runs from each renewal (default 6000 ms). Another host takes over
   * its actors and jobs only after it ran out (by the store's clock); a host that lost them is
   * fenced: its late commits and results are refused.
   */
  leaseMs?: number;
  /** How often the lease is renewed (default a third of `leaseMs`). */
  heartbeatMs?: number;
  /** Most activity attempts running at once in this host (default: no limit); the others wait, claimed, in order. */
  maxRunningActivities?: number;
  /** Largest accepted event, in bytes of JSON (default 1 MiB). */
  maxEventBytes?: number;
  /** Snapshots kept in memory for hot actors (default 1000); waiting actors are never held. */
  maxCachedActors?: number;
  /** Whether to run activities in this host (default true). */
  runActivities?: boolean;
  /** Called when a custom action or listener throws; default writes to stderr (secrets redacted). */
  onError?: (error: Error, where: string) => void;
  /**
   * Signs and verifies approval decisions (HMAC-SHA256). Default: `SPINE_SECRET`,
   * else the file `<db>.secret` next to a file store (created, mode 0600, by the
   * first decision signed here). A host without one leaves submitted decisions
   * for a host that has it.
   */
  secret?: string | (() => string | undefined);
  /**
   * Values that must never be written to the store, logs or spans. Default: the
   * values of environment variables named like secrets (`*_KEY`, `*_TOKEN`, `*SECRET`, ...).
   */
  secrets?: string[];
  /** Tracer for run, step and activity spans. Default: `@opentelemetry/api`'s global tracer (a no-op without an SDK). */
  tracer?: import('@opentelemetry/api').Tracer;
}

/** How a run stands when `waitForRun` returns. */
export type RunOutcome =
  | { status: 'done'; runId: string; output: unknown }
  | { status: 'error'; runId: string; error: string; output?: unknown }
  | { status: 'stopped'; runId: string }
  | { status: 'waiting'; runId: string; state: unknown; nextWakeAt: number | undefined };

type Listener = (notice: StepNotice) => void;

/** A run's root as the step that finished it left it, committed by this host (see `waitForRun`). */
type FinishedRoot = Pick<ActorRecord, 'status' | 'output' | 'error'>;

/** What a run's watchers learn: false for a change of it here, the root when it finished here, true to read the store (time passed, aborted). */
type RunChange = boolean | FinishedRoot;

/**
 * Creates a durable actor host over a store.
 *
 * @example
 * const runtime = createRuntime({ store: await SqliteStore.open('spine.db'), machines: [orderMachine] });
 * await runtime.start();
 * const { runId } = await runtime.startRun('order', { input: { sku: 'A1' } });
 * const outcome = await runtime.waitForRun(runId);
 */
export function createRuntime(options: RuntimeOptions): Runtime {
  return new Runtime(options);
}

/**
 * A durable actor host: the public face over its parts. The scheduler decides when
 * an actor steps (`host/Scheduler`), the step runner applies one event and commits
 * it (`step/`), the activity runner runs what a committed step requested
 * (`activities/`), the approval desk holds risky work for people.
 */
export class Runtime {
  readonly store: Store;
  readonly registry: MachineRegistry;
  readonly clock: Clock;
  readonly hostId: string;
  readonly #options: Required<Pick<RuntimeOptions, 'pollIntervalMs' | 'leaseMs' | 'heartbeatMs' | 'maxEventBytes' | 'maxCachedActors' | 'runActivities'>>;
  readonly #newRunId: () => string;
  readonly #onError: (error: Error, where: string) => void;
  readonly #listeners = new Set<Listener>();
  /** Whoever waits in `waitForRun`, by run: told when the run changes here (see `RunChange`). */
  readonly #runWatchers = new Map<string, Set<(change: RunChange) => void>>();
  readonly #partialListeners = new Set<(notice: PartialNotice) => void>();
  #started = false;
  #stopping = false;
  readonly #redactor: Redactor;
  readonly #telemetry: RunTelemetry;
  readonly #desk: ApprovalDesk;
  readonly #scheduler: Scheduler;
  #unwatch: (() => void) | undefined;
  readonly #steps: StepRunner;
  readonly #activities: ActivityRunner;
  readonly #starts: RunStarts;
  /** `startRun` calls under way: `stop()` waits for them before it releases this host's actors. */
  readonly #startsUnderWay = new Set<Promise<unknown>>();
  readonly #failure = new HostFailure();
  /** Resolves with the storage error (disk full, read-only, corrupt, I/O) that stopped this host, if one does. */
  get failed(): Promise<SpineError> {
    return this.#failure.failed;
  }
  /** Approvals this host's steps request and people resolve. */
  get approvals(): ApprovalDesk {
    return this.#desk;
  }
  /**
   * Run control over this host's store and machines: fork, cancel, retry, move to another
   * version (see `createControl`). After a fork or a retry the host looks for the new work at once.
   */
  readonly control: Control;

  constructor(options: RuntimeOptions) {
    this.#redactor = new Redactor(options.secrets ?? secretsFromEnv());
    this.store = redactingStore(options.store, this.#redactor);
    this.registry = options.machines instanceof MachineRegistry ? options.machines : registryOf(options.machines);
    this.clock = options.clock ?? systemClock;
    this.hostId = options.hostId ?? `host-${randomUUID().slice(0, 8)}`;
    this.#newRunId = options.newRunId ?? newRunId;
    const redactor = this.#redactor;
    const report = options.onError ?? ((error: Error, where: string) => process.stderr.write(redactor.text(`spine: ${where}: ${error.message}\n`)));
    // A storage error no retry can fix stops the host once, instead of being reported on every attempt.
    this.#onError = (error, where) => (isPersistentStorageError(error) ? void (this.#failure.fail(error) && this.stop().catch(() => {})) : report(error, where));
    this.#telemetry = new RunTelemetry({ redactor, ...(options.tracer ? { tracer: options.tracer } : {}) });
    const secretOption = options.secret;
    const storePath = (options.store as { path?: unknown }).path;
    let found: string | undefined;
    const dbFile = typeof storePath === 'string' ? storePath : undefined;
    const secret = () => (typeof secretOption === 'function' ? secretOption() : (secretOption ?? (found ??= readSecret(dbFile))));
    // Signing a decision may create the secret file (once, 0600); verifying only ever reads it.
    const signingSecret = () => secret() ?? (secretOption === undefined && dbFile && dbFile !== ':memory:' ? (found = ensureSecret(dbFile)) : undefined);
    this.#starts = new RunStarts(this.store);
    this.#desk = new ApprovalDesk({ store: this.store, registry: this.registry, clock: this.clock, secret, signingSecret });
    this.control = createControl({
      store: this.store,
      registry: this.registry,
      clock: this.clock,
      afterChange: async () => {
        this.store.wakeHosts?.(); // the new work may be another host's to run (this process may host nothing)
        await this.poke();
      },
    });
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    if (!(leaseMs > 0)) throw new SpineError('invalid_input', `leaseMs must be a positive number of milliseconds, not ${String(options.leaseMs)}.`);
    const heartbeatMs = options.heartbeatMs ?? Math.max(1, Math.round(leaseMs / 3));
    if (!(heartbeatMs > 0 && heartbeatMs < leaseMs)) throw new SpineError('invalid_input', `heartbeatMs (${heartbeatMs}) must be positive and shorter than leaseMs (${leaseMs}), or the lease runs out between renewals.`);
    this.#options = {
      pollIntervalMs: options.pollIntervalMs ?? 100,
      leaseMs,
      heartbeatMs,
      maxEventBytes: options.maxEventBytes ?? 1024 * 1024,
      maxCachedActors: options.maxCachedActors ?? 1000,
      runActivities: options.runActivities ?? true,
    };
    const host = { store: this.store, registry: this.registry, clock: this.clock, hostId: this.hostId, telemetry: this.#telemetry };
    const onError = (error: Error, where: string) => this.#onError(error, where);
    this.#scheduler = new Scheduler({
      ...host,
      ...(options.hostname ? { hostname: options.hostname } : {}),
      pollIntervalMs: this.#options.pollIntervalMs,
      // Other processes' sends, decisions and new work wake it: polling is the fallback (it backs off while it finds nothing).
      wakeable: typeof this.store.onWake === 'function' && typeof this.store.wakeHosts === 'function',
      heartbeatMs: this.#options.heartbeatMs,
      leaseMs: this.#options.leaseMs,
      onError,
      // Whatever this host holds in memory may be another host's now: read it again (fences refuse what went stale).
      leaseExpired: () => {
        this.#steps.clear();
        process.stderr.write(`spine: host ${this.hostId}: its lease had run out before it was renewed (the process was paused or starved); what other hosts took over meanwhile is theirs, and this host's late writes to it are refused\n`);
      },
      drain: (actorId, mailbox) => this.#steps.drain(actorId, mailbox),
      drained: (runId) => this.#runChanged(runId, false),
      startJob: (key) => this.#activities.start(key),
      beforeScan: async () => {
        // Signed decisions of people (from any process) and deadlines that passed, even while no host ran.
        const applied = await this.#desk.applySubmitted();
        const expired = await this.#desk.applyDeadlines();
        // The runs they resume may be another host's: it hears at once instead of at its next poll.
        if (applied.some((o) => o.status === 'applied') || expired.length) this.store.wakeHosts?.();
      },
    });
    this.#activities = new ActivityRunner({
      ...host,
      runActivities: this.#options.runActivities,
      // A draining host starts no new attempt.
      stopping: () => this.#scheduler.stopping || this.#scheduler.paused,
      deadOwners: () => this.#scheduler.deadOwners,
      fenced: (notice) => this.#reportFenced(notice),
      ...(options.maxRunningActivities ? { maxRunning: options.maxRunningActivities } : {}),
      onError,
      kick: (actorId) => this.#scheduler.kick(actorId),
      deliver: (completion) => this.#steps.deliver(completion),
      actor: (actorId) => {
        // What the store holds (so as redacted as a read would be), without the read.
        const cached = this.#steps.cached(actorId);
        return cached ? this.#redactor.value(cached) : this.store.getActor(actorId);
      },
      scheduleWake: () => void this.#scheduler.scheduleWake(),
      settled: () => this.#scheduler.settled(),
      jobEnded: (runId) => this.#runChanged(runId, false),
      partials: { watched: () => this.#partialListeners.size > 0, publish: (notice) => this.#publishPartial(notice) },
    });
    this.#steps = new StepRunner({
      ...host,
      maxCachedActors: this.#options.maxCachedActors,
      stopping: () => this.#scheduler.stopping,
      deadOwners: () => this.#scheduler.deadOwners,
      kick: (actorId) => this.#scheduler.kick(actorId),
      kickResult: (actorId) => this.#scheduler.kickResult(actorId),
      scheduleWake: () => void this.#scheduler.scheduleWake(),
      // A job claimed in its creating commit holds the row as the store wrote it (secrets redacted).
      startJob: (key, claimed) => this.#activities.start(key, claimed && this.#redactor.value(claimed)),
      claimsJobs: () => this.#options.runActivities && !this.#scheduler.stopping && !this.#scheduler.paused,
      drainsInProgress: () => this.#scheduler.drainsInProgress,
      turnDue: () => this.#scheduler.turnDue(),
      abortJobs: (actorId, childId) => this.#activities.abort(actorId, childId),
      abortFencedJobs: (actorId) => this.#activities.abortFenced(actorId),
      deliverToActivity: (actorId, childId, event) => this.#activities.deliver(actorId, childId, event),
      publish: (notice) => this.#publish(notice),
      fenced: (notice) => this.#reportFenced(notice),
    });
  }

  /**
   * Registers this host, saves the current version of every registered machine (so
   * planning a step never writes one), then resumes everything left unfinished: due
   * events and timers, jobs in flight when their host died, jobs whose back-off ended.
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    for (const name of this.registry.names()) {
      try {
        await this.registry.current(name, this.store);
      } catch {
        // An invalid machine is refused, with its reason, when a run of it starts.
      }
    }
    await this.#scheduler.start();
    this.#unwatch = this.store.onWake?.(() => this.#scheduler.wake());
  }

  /** Stops taking work, aborts running activities (they re-run on the next start), waits for runs being started, releases ownership. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#unwatch?.();
    const pumping = this.#scheduler.stop();
    await this.#activities.stop();
    await pumping;
    await this.#steps.flushResults(); // results delivered after the last drain: journaled, waiting in their mailboxes
    // A run being started may be written owned by this host: it is released with the rest, never after.
    await Promise.allSettled(this.#startsUnderWay);
    if (this.#started) {
      await this.store.releaseOwner(this.hostId);
      await this.store.removeHost(this.hostId);
    }
    this.#steps.clear();
  }

  /**
   * Stops taking new work, lets the steps and activity attempts in flight finish (up to
   * `timeoutMs`, default 30 s; the rest are aborted and run again elsewhere with the same
   * idempotency key), then stops as `stop()` does: results journaled, ownership released.
   * Returns how many attempts it had to abort.
   *
   * @example
   * process.once('SIGTERM', () => void runtime.drain({ timeoutMs: 30_000 }).then(() => process.exit(0)));
   */
  async drain(options: { timeoutMs?: number } = {}): Promise<{ aborted: number }> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    if (!this.#started || this.#stopping) {
      await this.stop();
      return { aborted: 0 };
    }
    this.#scheduler.pause();
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const running = this.#activities.running;
      if (!running.size && !this.#scheduler.pumping && !this.#scheduler.hasReady) break;
      const left = deadline - performance.now();
      if (left <= 0) break;
      await this.#scheduler.nextSettle(Math.min(left, 1000), Promise.allSettled([...running, ...(this.#scheduler.pumping ? [this.#scheduler.pumping] : [])]));
    }
    const aborted = this.#activities.running.size;
    await this.stop();
    return { aborted };
  }

  /** A write of this host refused by a fence: a line on stderr and an audit row, so `spine audit` shows it. */
  #reportFenced(notice: FenceNotice): void {
    const subject = notice.jobKey ?? notice.actorId;
    process.stderr.write(this.#redactor.text(`spine: host ${this.hostId}: ${notice.kind} ${subject} (run ${notice.runId}): ${notice.reason}\n`));
    const entry = { at: this.clock.now(), runId: notice.runId, actorId: notice.actorId, kind: notice.kind, who: this.hostId, subject, detail: JSON.stringify({ host: this.hostId, reason: notice.reason }) };
    this.store.appendAudit([entry]).catch((error: unknown) => this.#onError(ensureError(error), 'audit of a fenced write'));
  }

  /** Listens to every committed step of this host; returns an unsubscribe function. */
  onStep(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Listens to the partial output of this host's running activities (a model's answer as it
   * streams, through `ctx.progress`), then to the end of each attempt (`ended`). Display only:
   * partial output is never stored, and a crashed or retried attempt's partial is simply dropped.
   * While any listener is registered, model calls of `@spine/llm` stream. Returns an unsubscribe function.
   */
  onPartial(listener: (notice: PartialNotice) => void): () => void {
    this.#partialListeners.add(listener);
    return () => this.#partialListeners.delete(listener);
  }

  /**
   * Starts a run of a machine: validates the input, stores the actor and its init
   * event in one transaction (shared with the runs started in the same turn of the event
   * loop), and returns once both are durable. Refused with `closed`, writing nothing, once `stop()` began.
   */
  async startRun(machine: string, options: { input?: unknown; runId?: string } = {}): Promise<{ runId: string; version: string }> {
    // Once stop() began, nothing is written: a run created now would outlive the host's release of its actors.
    if (this.#stopping) {
      const run = options.runId === undefined ? `a run of '${machine}'` : `run ${options.runId}`;
      throw new SpineError('closed', `The runtime is stopping: ${run} was not started (start it on a running host).`, { machine, ...(options.runId === undefined ? {} : { actorId: options.runId }) });
    }
    const start = this.#startRun(machine, options);
    this.#startsUnderWay.add(start);
    try {
      return await start;
    } finally {
      this.#startsUnderWay.delete(start);
    }
  }

  async #startRun(machine: string, options: { input?: unknown; runId?: string }): Promise<{ runId: string; version: string }> {
    const version = await this.registry.current(machine, this.store);
    if (version.refusal) throw new SpineError('invalid_machine', version.refusal, { machine });
    const input = parseInput(version.definition, options.input, machine);
    const runId = options.runId ?? this.#newRunId();
    // Owned by this host only once its row exists: an owner with no row is any other host's to take.
    const actor: NewActor = { id: runId, runId, parentId: null, childKey: null, machine, version: version.version, owner: this.#scheduler.registered ? this.hostId : null };
    const init = initEvent(runId, input, this.clock.now(), 'external');
    // A taken id fails the write (nothing written), so the id is checked only then rather than read before every start.
    const taken = async (error: unknown) => {
      if (await this.store.getActor(runId, { snapshot: false }).catch(() => undefined)) throw new SpineError('conflict', `A run with id '${runId}' already exists.`, { actorId: runId });
      throw error;
    };
    if (this.store.createsWithStep && actor.owner === this.hostId) {
      // The actor and its first step in one commit (the step the host would take at once anyway).
      const started = await this.#steps.start(actor, init);
      if (started === true || started === 'halted') return { runId, version: version.version };
      if (started !== 'unstarted') return taken(new SpineError('conflict', `Run ${runId} was not created: its first step was refused (${started.reason}).`, { actorId: runId }));
    }
    // With the runs started in the same turn, in one transaction.
    let created: CreatedActors;
    try {
      created = await this.#starts.create([actor], [init]);
    } catch (error) {
      return taken(error);
    }
    const record = created.actors[0]!;
    const eventId = created.eventIds?.[0];
    // Its first step applies the init event as written, without reading the mailbox back.
    const primed = await this.#steps.prime(record, eventId === undefined ? undefined : { id: eventId, ...init });
    this.#scheduler.kick(runId, primed);
    return { runId, version: version.version };
  }

  /**
   * Puts an event in an actor's mailbox after checking it against the actor's
   * event schemas. A refused event is recorded as a dead letter and the error
   * names the failing field; the actor is untouched.
   */
  async send(actorId: string, event: unknown, options: { source?: string } = {}): Promise<{ eventId: number }> {
    const source = options.source ?? 'external';
    // An actor this host holds is read from memory (its machine never changes); the store then
    // checks that it is still active in the statement that stores the event.
    const held = this.store.enqueueIfActive ? this.#steps.cached(actorId) : undefined;
    const actor = held ?? (await this.store.getActor(actorId));
    if (!actor) throw new SpineError('unknown_actor', `No actor or run with id '${actorId}'.`, { actorId });
    const tooDeep = depthProblem(event);
    if (tooDeep) throw new SpineError('invalid_event', tooDeep, { actorId });
    const json = safeStringify(event);
    if (json === undefined) throw new SpineError('invalid_event', 'The event is not JSON-serialisable (it holds a function, a BigInt or a value that refuses toJSON).', { actorId });
    if (Buffer.byteLength(json) > this.#options.maxEventBytes) {
      throw new SpineError('payload_too_large', `The event is ${Buffer.byteLength(json)} bytes; the limit is ${this.#options.maxEventBytes}.`, { actorId });
    }
    const refuse = async (reason: string, issues: FieldIssue[] = []) => {
      await this.store.recordDeadLetters([{ actorId, event: json, reason, issues: issues.length ? JSON.stringify(issues) : null, source }]);
      throw new SpineError('invalid_event', reason, { actorId, machine: actor.machine, issues });
    };
    if (actor.status !== 'active') {
      return refuse(`Actor '${actorId}' is ${actor.status}; it accepts no more events.`);
    }
    const typed = event as EventObject;
    if (typeof typed?.type === 'string' && RESERVED_EVENT.test(typed.type)) {
      return refuse(`Event type '${typed.type}' is reserved for the runtime.`);
    }
    const issues = eventIssues(this.registry.definition(actor.machine), event);
    if (issues.length) return refuse(describeIssues(actor.machine, typed?.type, issues), issues);
    const stored = { actorId, type: typed.type, event: json, dueAt: this.clock.now(), source };
    let eventId: number | undefined;
    let primed = false;
    if (held) {
      const queued = await this.store.enqueueIfActive!(stored);
      eventId = queued?.id;
      // Heading the mailbox of an actor this host holds: its next step applies it without reading the mailbox.
      primed = queued?.first === true && this.#steps.primeEvent({ id: queued.id, ...stored });
      if (eventId === undefined) {
        // It finished (or was stopped) since this host last stepped it: refused as if read so.
        const now = await this.store.getActor(actorId);
        if (!now) throw new SpineError('unknown_actor', `No actor or run with id '${actorId}'.`, { actorId });
        if (now.status !== 'active') return refuse(`Actor '${actorId}' is ${now.status}; it accepts no more events.`);
      }
    }
    eventId ??= (await this.store.enqueue([stored]))[0];
    if (actor.owner === null || actor.owner === this.hostId || this.#scheduler.deadOwners.includes(actor.owner)) this.#scheduler.kick(actorId, primed);
    else this.store.wakeHosts?.(); // its owner is another host, maybe in another process
    return { eventId: eventId! };
  }

  /**
   * Waits until a run is done, failed or stopped, or has nothing left to do
   * before `horizonMs` (it waits for a person, an event or a distant timer).
   */
  async waitForRun(runId: string, options: { horizonMs?: number; signal?: AbortSignal } = {}): Promise<RunOutcome> {
    const horizonMs = options.horizonMs ?? 60_000;
    const watch = this.#watchRun(runId, options.signal);
    try {
      // The first look, and each after a change this host told, may take the root as this host
      // holds it (its last commit): a run under way here is then not read at all until it finishes,
      // and not then either when this host committed the step that finished it (`FinishedRoot`).
      let look: RunChange = false;
      for (;;) {
        options.signal?.throwIfAborted();
        this.#failure.throwIfFailed();
        if (look === false && this.#steps.cached(runId)?.status === 'active' && this.#busyHere(runId)) {
          look = await watch.next(1_000);
          continue;
        }
        // A finished root stays finished: as this host committed it (redacted, as the store keeps it), it is the answer.
        const finished = typeof look === 'object' ? finishedOutcome(runId, this.#redactor.value(look)) : undefined;
        if (finished) return finished;
        look = false;
        let root: ActorRecord | undefined;
        try {
          root = await this.store.getActor(runId, { snapshot: false });
        } catch (error) {
          // The store could not be reached for longer than it waits itself (it says so): keep waiting.
          if (!SpineError.is(error) || error.code !== 'storage_busy') throw error;
          await this.#scheduler.nextSettle(1_000);
          continue;
        }
        if (!root) throw new SpineError('unknown_actor', `No run with id '${runId}'.`, { actorId: runId });
        const ended = finishedOutcome(runId, root);
        if (ended) return ended;
        if (this.#busyHere(runId)) {
          // Under way here, which tells every change of it: the store is read again once it is not
          // (or its root finished). The timer is only for a part of it another host may drive.
          look = await watch.next(1_000);
          continue;
        }
        const now = this.clock.now();
        const activity = await this.store.runActivity(runId, now);
        const busy = activity.dueEvents > 0 || activity.activeJobs > 0 || this.#busyHere(runId);
        const soon = activity.nextWakeAt !== undefined && activity.nextWakeAt - now <= horizonMs;
        if (!busy && !soon) {
          // A step may have committed between the two reads (it consumed the event the second read
          // would have counted): only a root that did not move meanwhile is the answer.
          const after = await this.store.getActor(runId, { snapshot: false });
          if (after?.seq === root.seq && after.status === root.status) {
            return { status: 'waiting', runId, state: root.stateValue ? JSON.parse(root.stateValue) : null, nextWakeAt: activity.nextWakeAt };
          }
          continue;
        }
        look = await watch.next(busy ? 50 : Math.min(250, Math.max(5, (activity.nextWakeAt ?? now) - now)));
      }
    } finally {
      watch.close();
    }
  }

  /** Whether anything of the run is under way in this host: a drain of one of its actors (or one due), or a job. */
  #busyHere(runId: string): boolean {
    return this.#scheduler.runBusy(runId) || this.#activities.runBusy(runId);
  }

  /** The run changed here: a step of it committed (its root, when that step finished it), or a drain or a job of it ended. */
  #runChanged(runId: string, change: RunChange): void {
    const watchers = this.#runWatchers.get(runId);
    if (watchers) for (const watcher of [...watchers]) watcher(change);
  }

  /**
   * What `waitForRun` waits on between its looks at the run: `next(ms)` resolves once the run's
   * root finished here, or the run changed here and nothing of it is under way here any more (its
   * work is done, waits, or is another host's), or after `ms`; with true when the store must be
   * read (the root finished, or time passed: what this host holds may be stale). So a run this
   * host drives is read about once, not after every step (a read after each cost a lone run a
   * third of its speed, and each read counts the run's jobs).
   */
  #watchRun(runId: string, signal: AbortSignal | undefined): { next(ms: number): Promise<RunChange>; close(): void } {
    let release: ((change: RunChange) => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const wake = (change: RunChange) => {
      if (!release || (change === false && this.#busyHere(runId))) return;
      const resolve = release;
      release = undefined;
      clearTimeout(timer);
      resolve(change);
    };
    const onAbort = () => wake(true);
    let watchers = this.#runWatchers.get(runId);
    if (!watchers) this.#runWatchers.set(runId, (watchers = new Set()));
    watchers.add(wake);
    signal?.addEventListener('abort', onAbort, { once: true });
    return {
      next: (ms) =>
        new Promise<RunChange>((resolve) => {
          release = resolve;
          timer = setTimeout(() => wake(true), ms);
        }),
      close: () => {
        wake(true);
        signal?.removeEventListener('abort', onAbort);
        watchers.delete(wake);
        if (!watchers.size && this.#runWatchers.get(runId) === watchers) this.#runWatchers.delete(runId);
      },
    };
  }

  /**
   * Records a person's decision on a run's pending approval (or the one named by
   * `approvalId`): signs it, stores it, verifies and applies it, then drives the
   * run on. Approve runs the held activity (with `input` instead of the proposal
   * when given, checked against the activity's input schema); reject delivers
   * `xstate.error.actor.<id>` with `error.kind: 'rejected'`.
   *
   * With `{ drive: false }` it only records and applies the decision and claims no
   * work (a command that decides and exits must not host other runs' jobs).
   *
   * @example
   * await runtime.decide({ runId }, { decision: 'approve', by: 'ada' });
   */
  async decide(target: { runId?: string; approvalId?: string }, decision: Decision, options: { drive?: boolean } = {}): Promise<DecisionOutcome> {
    const approval = await this.#desk.find(target);
    const outcome = await this.#desk.decide(approval, this.#redactor.value(decision));
    // The run may be another host's (in another process): it resumes it at once instead of at its next poll.
    if (outcome.status === 'applied') this.store.wakeHosts?.();
    if (options.drive !== false) await this.#scheduler.scan(); // `drive: false` records the decision only, claiming no work
    return outcome;
  }

  /** Pending approvals (of one run, or all). */
  async pendingApprovals(runId?: string): Promise<ApprovalRecord[]> {
    return this.store.listApprovals({ ...(runId ? { runId } : {}), status: ['pending'] });
  }

  /** Looks for work now (other processes' events, due timers) instead of at the next poll. */
  async poke(): Promise<void> {
    await this.#scheduler.scan();
    await this.#scheduler.pumping;
  }

  /**
   * Resolves when no step is being processed and no activity is running in this host
   * (long-lived callback activities aside: they run until their state is left).
   */
  async idle(): Promise<void> {
    for (;;) {
      await this.#scheduler.pumping;
      const running = this.#activities.running;
      if (!running.size && !this.#scheduler.pumping && !this.#scheduler.hasReady) return;
      // Wakes when a job settles or turns out to be long-lived.
      await this.#scheduler.nextSettle(60_000, Promise.allSettled([...running]));
    }
  }

  #publishPartial(notice: PartialNotice): void {
    if (notice.text) notice = { ...notice, text: this.#redactor.text(notice.text) };
    for (const listener of this.#partialListeners) {
      try {
        listener(notice);
      } catch (error) {
        this.#onError(ensureError(error), 'partial output listener');
      }
    }
  }

  #publish(notice: StepNotice): void {
    for (const listener of this.#listeners) {
      try {
        listener(notice);
      } catch (error) {
        this.#onError(ensureError(error), 'step listener');
      }
    }
    const { actor } = notice;
    if (this.#runWatchers.size) this.#runChanged(actor.runId, actor.id === actor.runId && actor.status !== 'active' ? actor : false);
  }
}

/** What `waitForRun` answers for a root that finished (undefined while it is active). */
function finishedOutcome(runId: string, root: FinishedRoot): RunOutcome | undefined {
  if (root.status === 'done') return { status: 'done', runId, output: root.output === null ? undefined : JSON.parse(root.output) };
  if (root.status === 'error') return { status: 'error', runId, error: root.error ?? 'unknown error', ...(root.output === null ? {} : { output: JSON.parse(root.output) as unknown }) };
  if (root.status === 'stopped') return { status: 'stopped', runId };
  return undefined;
}

function registryOf(definitions: MachineDefinition[]): MachineRegistry {
  const registry = new MachineRegistry();
  for (const definition of definitions) registry.register(definition);
  return registry;
}

let runCounter = 0;
function newRunId(): string {
  runCounter = (runCounter + 1) % 1296;
  return `run-${Date.now().toString(36)}${runCounter.toString(36).padStart(2, '0')}-${randomUUID().slice(0, 6)}`;
}

/** Statuses in which an actor takes no more events. */
export const FINISHED: readonly ActorStatus[] = ['done', 'error', 'stopped'];
export type { NewDeadLetter };
