import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createActor, type AnyMachineSnapshot, type EventObject } from 'xstate';
import { hostInitialTransition, hostTransition } from './xstateLogic.js';
import { systemClock, type Clock } from './clock.js';
import type { Activity, ActivityContext, MachineDefinition } from './defineMachine.js';
import { RetryableError, SpineError, TerminalError, ensureError, serializeError, type FieldIssue } from './errors.js';
import { MachineRegistry, type MachineVersion } from './MachineRegistry.js';
import { planStep, type ExecutableAction } from './planStep.js';
import { ApprovalDesk, type Decision, type DecisionOutcome } from './ApprovalDesk.js';
import { auditOfAttempt } from './auditOfAttempt.js';
import { redactingStore, Redactor, secretsFromEnv } from './redact.js';
import { riskPolicies, type RiskPolicy } from './riskPolicy.js';
import { ensureSecret, readSecret } from './secretFile.js';
import { RunTelemetry, type ActivitySpan } from './telemetry.js';
import type {
  ActorRecord,
  ActorStatus,
  ApprovalRecord,
  HistoryRecord,
  JobRecord,
  NewActor,
  NewDeadLetter,
  NewEvent,
  NewJob,
  StepCommit,
  Store,
} from './Store.js';
import { validateEvent, zodIssues } from './validateEvent.js';

/** Options of `createRuntime`; every field but `store` and `machines` has a default. */
export interface RuntimeOptions {
  store: Store;
  /** Machines this host can run, as definitions or a registry. */
  machines: MachineRegistry | MachineDefinition[];
  /** Default: the wall clock. */
  clock?: Clock;
  /** Default: a random id; names this host in the store. */
  hostId?: string;
  /** Generates run ids. Default: time-ordered random ids. */
  newRunId?: () => string;
  /** How often the host looks for work written by other processes (default 100 ms). */
  pollIntervalMs?: number;
  /** Heartbeat period; a host silent for 5 periods is dead (default 1000 ms). */
  heartbeatMs?: number;
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

/** What a listener learns after each commit. */
export interface StepNotice {
  actor: Pick<ActorRecord, 'id' | 'runId' | 'parentId' | 'machine' | 'version' | 'status'>;
  history: HistoryRecord;
  emitted: EventObject[];
}

/** How a run stands when `waitForRun` returns. */
export type RunOutcome =
  | { status: 'done'; runId: string; output: unknown }
  | { status: 'error'; runId: string; error: string; output?: unknown }
  | { status: 'stopped'; runId: string }
  | { status: 'waiting'; runId: string; state: unknown; nextWakeAt: number | undefined };

interface LoadedActor {
  record: ActorRecord;
  version: MachineVersion;
  snapshot: AnyMachineSnapshot | undefined;
}

type Listener = (notice: StepNotice) => void;

const RESERVED = /^(xstate\.|spine\.)/;

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

/** A durable actor host: drives every actor a step at a time, committing each step before its effects. */
export class Runtime {
  readonly store: Store;
  readonly registry: MachineRegistry;
  readonly clock: Clock;
  readonly hostId: string;
  readonly #options: Required<Pick<RuntimeOptions, 'pollIntervalMs' | 'heartbeatMs' | 'maxEventBytes' | 'maxCachedActors' | 'runActivities'>>;
  readonly #newRunId: () => string;
  readonly #onError: (error: Error, where: string) => void;
  readonly #cache = new Map<string, LoadedActor>();
  readonly #ready = new Set<string>();
  readonly #jobs = new Map<string, AbortController>();
  readonly #jobPromises = new Set<Promise<void>>();
  /** Long-lived activities (callback actors): `idle()` does not wait for them, `stop()` does. */
  readonly #longLived = new Set<Promise<void>>();
  readonly #jobPromiseOf = new Map<string, Promise<void>>();
  readonly #listeners = new Set<Listener>();
  readonly #settleWaiters = new Set<() => void>();
  #deadOwners: string[] = [];
  #pumping: Promise<void> | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #wakeTimer: NodeJS.Timeout | undefined;
  #wakeAt = Infinity;
  #lastHeartbeat = 0;
  #started = false;
  #stopping = false;
  readonly #redactor: Redactor;
  readonly #telemetry: RunTelemetry;
  readonly #desk: ApprovalDesk;
  /** Approvals this host's steps request and people resolve. */
  get approvals(): ApprovalDesk {
    return this.#desk;
  }

  constructor(options: RuntimeOptions) {
    this.#redactor = new Redactor(options.secrets ?? secretsFromEnv());
    this.store = redactingStore(options.store, this.#redactor);
    this.registry = options.machines instanceof MachineRegistry ? options.machines : registryOf(options.machines);
    this.clock = options.clock ?? systemClock;
    this.hostId = options.hostId ?? `host-${randomUUID().slice(0, 8)}`;
    this.#newRunId = options.newRunId ?? newRunId;
    const redactor = this.#redactor;
    this.#onError = options.onError ?? ((error, where) => process.stderr.write(redactor.text(`spine: ${where}: ${error.message}\n`)));
    this.#telemetry = new RunTelemetry({ redactor, ...(options.tracer ? { tracer: options.tracer } : {}) });
    const secretOption = options.secret;
    const storePath = (options.store as { path?: unknown }).path;
    let found: string | undefined;
    const dbFile = typeof storePath === 'string' ? storePath : undefined;
    const secret = () => (typeof secretOption === 'function' ? secretOption() : (secretOption ?? (found ??= readSecret(dbFile))));
    // Signing a decision may create the secret file (once, 0600); verifying only ever reads it.
    const signingSecret = () => secret() ?? (secretOption === undefined && dbFile && dbFile !== ':memory:' ? (found = ensureSecret(dbFile)) : undefined);
    this.#desk = new ApprovalDesk({ store: this.store, registry: this.registry, clock: this.clock, secret, signingSecret });
    this.#options = {
      pollIntervalMs: options.pollIntervalMs ?? 100,
      heartbeatMs: options.heartbeatMs ?? 1000,
      maxEventBytes: options.maxEventBytes ?? 1024 * 1024,
      maxCachedActors: options.maxCachedActors ?? 1000,
      runActivities: options.runActivities ?? true,
    };
  }

  /**
   * Registers this host, then resumes everything left unfinished: due events and
   * timers, jobs that were in flight when their host died, jobs whose back-off ended.
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#heartbeat();
    await this.#scan();
    this.#pollTimer = setInterval(() => void this.#tick(), this.#options.pollIntervalMs);
    this.#pollTimer.unref?.();
  }

  /** Stops taking work, aborts running activities (they re-run on the next start), releases ownership. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    for (const controller of this.#jobs.values()) controller.abort(new SpineError('closed', 'The host is stopping.'));
    await this.#pumping;
    await Promise.allSettled([...this.#jobPromises, ...this.#longLived]);
    if (this.#started) {
      await this.store.releaseOwner(this.hostId);
      await this.store.removeHost(this.hostId);
    }
    this.#cache.clear();
  }

  /** Listens to every committed step of this host; returns an unsubscribe function. */
  onStep(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Starts a run of a machine: validates the input, stores the actor and its init
   * event in one transaction, and returns once both are durable.
   */
  async startRun(machine: string, options: { input?: unknown; runId?: string } = {}): Promise<{ runId: string; version: string }> {
    const version = await this.registry.current(machine, this.store);
    if (version.refusal) throw new SpineError('invalid_machine', version.refusal, { machine });
    const input = parseInput(version.definition, options.input, machine);
    const runId = options.runId ?? this.#newRunId();
    if (await this.store.getActor(runId)) throw new SpineError('conflict', `A run with id '${runId}' already exists.`, { actorId: runId });
    const actor: NewActor = { id: runId, runId, parentId: null, childKey: null, machine, version: version.version, owner: this.#started ? this.hostId : null };
    await this.store.createActors([actor], [initEvent(runId, input, this.clock.now(), 'external')]);
    this.#kick(runId);
    return { runId, version: version.version };
  }

  /**
   * Puts an event in an actor's mailbox after checking it against the actor's
   * event schemas. A refused event is recorded as a dead letter and the error
   * names the failing field; the actor is untouched.
   */
  async send(actorId: string, event: unknown, options: { source?: string } = {}): Promise<{ eventId: number }> {
    const source = options.source ?? 'external';
    const actor = await this.store.getActor(actorId);
    if (!actor) throw new SpineError('unknown_actor', `No actor or run with id '${actorId}'.`, { actorId });
    const json = safeStringify(event);
    if (json === undefined) throw new SpineError('invalid_event', 'The event is not JSON-serialisable.', { actorId });
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
    if (typeof typed?.type === 'string' && RESERVED.test(typed.type)) {
      return refuse(`Event type '${typed.type}' is reserved for the runtime.`);
    }
    const issues = eventIssues(this.registry.definition(actor.machine), event);
    if (issues.length) return refuse(describeIssues(actor.machine, typed?.type, issues), issues);
    const [eventId] = await this.store.enqueue([{ actorId, type: typed.type, event: json, dueAt: this.clock.now(), source }]);
    if (actor.owner === null || actor.owner === this.hostId || this.#deadOwners.includes(actor.owner)) this.#kick(actorId);
    return { eventId: eventId! };
  }

  /**
   * Waits until a run is done, failed or stopped, or has nothing left to do
   * before `horizonMs` (it waits for a person, an event or a distant timer).
   */
  async waitForRun(runId: string, options: { horizonMs?: number; signal?: AbortSignal } = {}): Promise<RunOutcome> {
    const horizonMs = options.horizonMs ?? 60_000;
    for (;;) {
      options.signal?.throwIfAborted();
      const root = await this.store.getActor(runId);
      if (!root) throw new SpineError('unknown_actor', `No run with id '${runId}'.`, { actorId: runId });
      if (root.status === 'done') return { status: 'done', runId, output: root.output === null ? undefined : JSON.parse(root.output) };
      if (root.status === 'error') {
        return { status: 'error', runId, error: root.error ?? 'unknown error', ...(root.output === null ? {} : { output: JSON.parse(root.output) as unknown }) };
      }
      if (root.status === 'stopped') return { status: 'stopped', runId };
      const now = this.clock.now();
      const activity = await this.store.runActivity(runId, now);
      const busy = activity.dueEvents > 0 || activity.activeJobs > 0 || this.#pumping !== undefined;
      const soon = activity.nextWakeAt !== undefined && activity.nextWakeAt - now <= horizonMs;
      if (!busy && !soon) {
        return { status: 'waiting', runId, state: root.stateValue ? JSON.parse(root.stateValue) : null, nextWakeAt: activity.nextWakeAt };
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, busy ? 50 : Math.min(250, Math.max(5, (activity.nextWakeAt ?? now) - now)));
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        const waiters = this.#settleWaiters;
        waiters.add(done);
      });
    }
  }

  /**
   * Records a person's decision on a run's pending approval (or the one named by
   * `approvalId`): signs it, stores it, verifies and applies it, then drives the
   * run on. Approve runs the held activity (with `input` instead of the proposal
   * when given, checked against the activity's input schema); reject delivers
   * `xstate.error.actor.<id>` with `error.kind: 'rejected'`.
   *
   * @example
   * await runtime.decide({ runId }, { decision: 'approve', by: 'ada' });
   */
  async decide(target: { runId?: string; approvalId?: string }, decision: Decision): Promise<DecisionOutcome> {
    const approval = await this.#desk.find(target);
    const outcome = await this.#desk.decide(approval, this.#redactor.value(decision));
    await this.#scan();
    return outcome;
  }

  /** Pending approvals (of one run, or all). */
  async pendingApprovals(runId?: string): Promise<ApprovalRecord[]> {
    return this.store.listApprovals({ ...(runId ? { runId } : {}), status: ['pending'] });
  }

  /** Looks for work now (other processes' events, due timers) instead of at the next poll. */
  async poke(): Promise<void> {
    await this.#scan();
    await this.#pumping;
  }

  /**
   * Resolves when no step is being processed and no activity is running in this host
   * (long-lived callback activities aside: they run until their state is left).
   */
  async idle(): Promise<void> {
    for (;;) {
      await this.#pumping;
      if (!this.#jobPromises.size && !this.#pumping && !this.#ready.size) return;
      // Wakes when a job settles or turns out to be long-lived.
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#settleWaiters.delete(done);
          resolve();
        };
        this.#settleWaiters.add(done);
        void Promise.allSettled([...this.#jobPromises]).then(done);
      });
    }
  }

  // ---- scheduling -------------------------------------------------------------

  #kick(actorId: string): void {
    if (this.#stopping) return;
    this.#ready.add(actorId);
    this.#pumping ??= this.#pump().finally(() => {
      this.#pumping = undefined;
      this.#notifySettle();
      if (this.#ready.size) for (const id of [...this.#ready]) this.#kick(id);
    });
  }

  async #pump(): Promise<void> {
    await Promise.resolve();
    let sinceYield = performance.now();
    while (this.#ready.size && !this.#stopping) {
      const actorId = this.#ready.values().next().value!;
      this.#ready.delete(actorId);
      try {
        await this.#drain(actorId);
      } catch (error) {
        this.#onError(ensureError(error), `actor ${actorId}`);
      }
      if (performance.now() - sinceYield > 20) {
        await new Promise((resolve) => setImmediate(resolve));
        sinceYield = performance.now();
      }
    }
  }

  async #tick(): Promise<void> {
    try {
      if (this.clock.now() - this.#lastHeartbeat >= this.#options.heartbeatMs) await this.#heartbeat();
      await this.#scan();
    } catch (error) {
      this.#onError(ensureError(error), 'poll');
    }
  }

  async #heartbeat(): Promise<void> {
    const now = this.clock.now();
    this.#lastHeartbeat = now;
    const me = hostname();
    const hosts = await this.store.heartbeat({ id: this.hostId, hostname: me, pid: process.pid, startedAt: now, heartbeatAt: now });
    const staleAfter = this.#options.heartbeatMs * 5;
    this.#deadOwners = hosts
      .filter((h) => h.id !== this.hostId && ((h.hostname === me && !pidAlive(h.pid)) || now - h.heartbeatAt > Math.max(staleAfter, 5000)))
      .map((h) => h.id);
  }

  async #scan(): Promise<void> {
    if (this.#stopping) return;
    try {
      // Signed decisions of people (from any process) and deadlines that passed, even while no host ran.
      await this.#desk.applySubmitted();
      await this.#desk.applyDeadlines();
    } catch (error) {
      this.#onError(ensureError(error), 'approvals');
    }
    const now = this.clock.now();
    const { actors, jobs } = await this.store.runnable(now, this.hostId, this.#deadOwners, 10_000);
    const wanted = new Set([...actors, ...jobs.map((j) => j.actorId)]);
    const mine = new Set(await this.store.claimActors([...wanted], this.hostId, this.#deadOwners));
    for (const id of actors) if (mine.has(id)) this.#kick(id);
    for (const job of jobs) if (mine.has(job.actorId)) this.#startJob(job.key);
    await this.#scheduleWake();
  }

  async #scheduleWake(): Promise<void> {
    const next = await this.store.nextWakeAt(this.clock.now());
    if (next === undefined || next >= this.#wakeAt) return;
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    this.#wakeAt = next;
    const delay = Math.max(0, next - this.clock.now());
    this.#wakeTimer = setTimeout(() => {
      this.#wakeAt = Infinity;
      this.#wakeTimer = undefined;
      void this.#tick();
    }, Math.min(delay, 2 ** 31 - 1));
    this.#wakeTimer.unref?.();
  }

  #notifySettle(): void {
    for (const waiter of [...this.#settleWaiters]) waiter();
  }

  // ---- steps ------------------------------------------------------------------

  async #load(actorId: string): Promise<LoadedActor | undefined> {
    const cached = this.#cache.get(actorId);
    if (cached) {
      this.#cache.delete(actorId);
      this.#cache.set(actorId, cached);
      return cached;
    }
    let record = await this.store.getActor(actorId);
    if (!record || record.status !== 'active') return undefined;
    if (record.owner !== this.hostId) {
      const claimed = await this.store.claimActors([actorId], this.hostId, this.#deadOwners);
      if (!claimed.length) return undefined;
      record = { ...record, owner: this.hostId };
    }
    const version = await this.registry.pinned(record.machine, record.version, this.store);
    const snapshot = record.snapshot
      ? (createActor(version.machine, { snapshot: JSON.parse(record.snapshot) }).getSnapshot() as AnyMachineSnapshot)
      : undefined;
    const loaded: LoadedActor = { record, version, snapshot };
    this.#cache.set(actorId, loaded);
    if (this.#cache.size > this.#options.maxCachedActors) this.#cache.delete(this.#cache.keys().next().value!);
    return loaded;
  }

  async #drain(actorId: string): Promise<void> {
    let loaded = await this.#load(actorId);
    let conflicts = 0;
    while (loaded && !this.#stopping) {
      if (this.#mayHalt() && (await this.store.isRunHalted(loaded.record.runId))) return; // a high-risk approval holds the run
      const events = await this.store.nextEvents(actorId, this.clock.now(), 64);
      if (!events.length) return;
      for (const mailboxEvent of events) {
        if (loaded.record.status !== 'active') {
          await this.store.discardEvent(mailboxEvent.id, {
            actorId,
            event: mailboxEvent.event,
            reason: `Actor '${actorId}' is ${loaded.record.status}; the event arrived after it finished.`,
            issues: null,
            source: mailboxEvent.source,
          });
          continue;
        }
        const committed = await this.#step(loaded, mailboxEvent.id, mailboxEvent.event);
        if (committed === 'halted') return; // the step asked for high-risk work: the run waits for a person
        if (!committed) {
          // Another writer moved the actor (or consumed the event): reload and re-read the
          // mailbox. Repeated conflicts mean someone else drives it: leave it to the next poll.
          this.#cache.delete(actorId);
          if (++conflicts > 3) return;
          loaded = await this.#load(actorId);
          break;
        }
        conflicts = 0;
        if (this.#stopping) return;
      }
      if (loaded && loaded.record.status !== 'active') this.#cache.delete(actorId);
    }
  }

  async #step(loaded: LoadedActor, eventId: number, eventJson: string): Promise<boolean | 'halted'> {
    const startedAt = this.clock.now();
    const t0 = performance.now();
    const { record, version } = loaded;
    const { machine, definition } = version;
    const event = JSON.parse(eventJson) as EventObject & { input?: unknown };
    const seq = record.seq + 1;
    let next: AnyMachineSnapshot;
    let actions: ExecutableAction[];
    let failure: Error | undefined;
    try {
      if (event.type === 'xstate.init') {
        if (loaded.snapshot) throw new Error('xstate.init delivered to an actor that already started');
        [next, actions] = hostInitialTransition(machine, event.input, { hasParent: record.parentId !== null });
      } else {
        if (!loaded.snapshot) throw new Error(`event '${event.type}' arrived before the actor started`);
        [next, actions] = hostTransition(machine, loaded.snapshot, event, { hasParent: record.parentId !== null });
      }
    } catch (error) {
      failure = ensureError(error);
      next = loaded.snapshot!;
      actions = [];
    }

    const commit: StepCommit = {
      actorId: record.id,
      expectedSeq: record.seq,
      eventId,
      snapshot: record.snapshot ?? 'null',
      stateValue: record.stateValue ?? 'null',
      status: 'active',
      output: null,
      error: null,
      history: { eventType: event.type, event: eventJson, version: record.version, emitted: null, startedAt, durationUs: 0 },
      ...emptyOutbox(),
    };
    let emitted: EventObject[] = [];
    if (!failure) {
      try {
        const plan = planStep(actions, {
          actorId: record.id,
          seq,
          now: startedAt,
          isActivity: (src) => Boolean(definition.activities?.[src]),
          childMachine: (src) => version.childMachine(src),
        });
        // Custom actions run here, in xstate's order, as its interpreter runs them inside the
        // transition: one that throws puts the actor in `error` and the step writes nothing else.
        for (const effect of plan.effects) {
          try {
            effect.exec?.(effect.info, effect.params);
          } catch (error) {
            throw new ActionError(effect.type, error);
          }
        }
        await this.#resolvePlan(loaded, seq, plan, commit, startedAt);
        emitted = plan.emitted;
        commit.snapshot = JSON.stringify(machine.getPersistedSnapshot(next));
        commit.stateValue = JSON.stringify(next.value);
        if (next.status === 'done') {
          commit.status = 'done';
          commit.output = JSON.stringify(next.output ?? null);
          const failed = failureFinalState(next);
          if (failed) {
            // A final state marked `meta.outcome: "failure"` ends the actor in error, output kept.
            commit.status = 'error';
            const reason = (next.output as { reason?: unknown } | undefined)?.reason;
            commit.error = typeof reason === 'string' && reason ? reason : `ended in final state '${failed}'`;
          }
        } else if (next.status === 'error') {
          failure = ensureError(next.error);
        }
      } catch (error) {
        // A plan that failed half-way writes none of what it planned.
        failure = ensureError(error);
        Object.assign(commit, emptyOutbox());
      }
    }
    if (failure) {
      commit.status = 'error';
      commit.error = `${failure.message} (while applying '${event.type}' in state ${commit.stateValue})`;
    }
    if (commit.status !== 'active') {
      this.#finish(record, commit, startedAt);
      for (const child of await this.store.childrenOf(record.id)) if (!commit.stop.includes(child.id)) commit.stop.push(child.id);
    }
    if (emitted.length) commit.history.emitted = JSON.stringify(emitted);
    commit.history.durationUs = Math.round((performance.now() - t0) * 1000);

    const result = await this.#commitOrEnd(record, commit);
    if (!result.ok) return false;

    // Committed: only now may anything the step caused become visible.
    loaded.record = { ...record, seq, status: commit.status, snapshot: commit.snapshot, stateValue: commit.stateValue, output: commit.output, error: commit.error, updatedAt: startedAt };
    if (!failure) loaded.snapshot = asRestored(next, commit.snapshot);
    for (const stopped of commit.stop) this.#cache.delete(stopped);
    for (const childId of commit.cancelJobs) this.#abortJob(record.id, childId);
    for (const job of commit.jobs) this.#startJob(job.key);
    for (const message of commit.messages) if (message.dueAt <= startedAt && message.actorId !== record.id) this.#kick(message.actorId);
    if (commit.messages.some((m) => m.dueAt > startedAt)) void this.#scheduleWake();
    this.#publish(loaded.record, { ...commit.history, actorId: record.id, runId: record.runId, seq, snapshot: commit.snapshot, stateValue: commit.stateValue, status: commit.status }, emitted);
    this.#traceStep(record, seq, commit, startedAt);
    if (commit.approvals?.some((a) => a.tier === 'high')) return 'halted';
    return true;
  }

  readonly #commitFailures = new Map<string, string>();

  /**
   * Commits a step. A commit the store refuses for what it contains (a constraint, not
   * a lost lease or an I/O error) is tried once more on the next pass; when it fails the
   * same way twice, the step ends instead: the actor goes to `error` with the reason
   * and the event is consumed, so nothing retries forever.
   */
  async #commitOrEnd(record: ActorRecord, commit: StepCommit): Promise<Awaited<ReturnType<Store['commitStep']>>> {
    const key = `${record.id}:${commit.eventId}`;
    try {
      const result = await this.store.commitStep(commit);
      this.#commitFailures.delete(key);
      return result;
    } catch (error) {
      const failure = ensureError(error);
      if (!isDeterministicStoreError(failure)) throw failure;
      const seen = this.#commitFailures.get(key);
      this.#commitFailures.set(key, failure.message);
      if (seen !== failure.message) throw failure;
      this.#commitFailures.delete(key);
      const reason = `The step's commit failed twice with: ${failure.message} (while applying '${commit.history.eventType}' in state ${record.stateValue ?? 'null'})`;
      Object.assign(commit, emptyOutbox(), { snapshot: record.snapshot ?? 'null', stateValue: record.stateValue ?? 'null', status: 'error', output: null, error: reason });
      this.#finish(record, commit, commit.history.startedAt);
      for (const child of await this.store.childrenOf(record.id)) commit.stop.push(child.id);
      return this.store.commitStep(commit);
    }
  }

  /** Resolves durable ids, validates messages against their receivers' schemas, fills the commit. */
  async #resolvePlan(loaded: LoadedActor, seq: number, plan: ReturnType<typeof planStep>, commit: StepCommit, now: number): Promise<void> {
    const { record } = loaded;
    // Durable children are only looked up when the step stops, spawns or messages one.
    const needsChildren = plan.stopChildren.length > 0 || plan.spawns.length > 0 || plan.sends.some((s) => typeof s.to === 'string' || 'child' in s.to);
    const children = new Map(needsChildren ? (await this.store.childrenOf(record.id)).map((c) => [c.childKey, c.id]) : []);
    const activityChildren = new Set(plan.jobs.map((j) => j.childId));
    for (const childId of plan.stopChildren) {
      const durable = children.get(childId);
      if (durable) {
        commit.stop.push(durable);
        children.delete(childId);
      } else {
        commit.cancelJobs.push(childId);
      }
    }
    for (const spawn of plan.spawns) {
      let id = `${record.id}/${spawn.childKey}`;
      if (await this.store.getActor(id)) id = `${id}~${seq}`;
      const childVersion = await this.registry.current(spawn.machine, this.store);
      try {
        const input = parseInput(childVersion.definition, spawn.input, spawn.machine);
        commit.spawn.push({ id, runId: record.runId, parentId: record.id, childKey: spawn.childKey, machine: spawn.machine, version: childVersion.version, owner: this.hostId });
        commit.messages.push(initEvent(id, input, now, record.id));
        children.set(spawn.childKey, id);
      } catch (error) {
        const serialized = serializeError(error);
        commit.deadLetters.push({ actorId: id, event: JSON.stringify({ type: 'xstate.init', input: spawn.input }), reason: serialized.message, issues: issuesJson(error), source: record.id });
        commit.messages.push(selfEvent(record.id, { type: `xstate.error.actor.${spawn.childKey}`, error: serialized, actorId: spawn.childKey }, now));
      }
    }
    for (const job of plan.jobs) {
      const activity = loaded.version.definition.activities![job.src]!;
      let input = job.inputValue;
      if (activity.mapInput) {
        input = activity.mapInput({ context: job.context ?? {}, event: job.event, input });
      }
      const newJob: NewJob = { key: job.key, actorId: record.id, runId: record.runId, childId: job.childId, src: job.src, input: JSON.stringify(input ?? null), runAt: now };
      const policy = riskPolicies(loaded.version.machine).get(job.childId);
      if (policy && policy.tier !== 'low') {
        // Medium and high risk: the job is held, and the approval that releases it is written in this same commit.
        newJob.held = true;
        const { approval, audit } = ApprovalDesk.request({
          job: newJob,
          machine: record.machine,
          version: record.version,
          seq,
          policy,
          rationale: await this.#rationale(record, job, policy),
          now,
        });
        commit.approvals!.push(approval);
        commit.audit!.push(...audit);
      }
      commit.jobs.push(newJob);
    }
    for (const timer of plan.timers) {
      commit.messages.push({ actorId: record.id, type: timer.type, event: timer.event, dueAt: timer.dueAt, sendId: timer.sendId ?? null, source: record.id });
    }
    commit.cancelTimers.push(...plan.cancelTimers);
    for (const send of plan.sends) {
      const dueAt = now + (send.delay ?? 0);
      const json = JSON.stringify(send.event);
      let target: string | undefined;
      const to = send.to;
      if (typeof to === 'string') target = children.get(to) ?? to;
      else if ('self' in to) target = record.id;
      else if ('parent' in to) target = record.parentId ?? undefined;
      else if ('child' in to) target = children.get(to.child);
      const childKey = typeof to === 'string' ? (children.has(to) ? to : undefined) : 'child' in to ? to.child : undefined;
      if (target === undefined || (childKey !== undefined && activityChildren.has(childKey))) {
        const reason = `No durable actor to receive '${send.event.type}' from ${record.id} (target ${JSON.stringify(to)}).`;
        commit.deadLetters.push({ actorId: String(target ?? JSON.stringify(to)), event: json, reason, issues: null, source: record.id });
        commit.messages.push(selfEvent(record.id, { type: 'spine.delivery.refused', to: JSON.stringify(to), eventType: send.event.type, reason }, now));
        continue;
      }
      const issues = await this.#validateFor(target, send.event, commit);
      if (issues) {
        const reason = issues.reason;
        commit.deadLetters.push({ actorId: target, event: json, reason, issues: issues.issues.length ? JSON.stringify(issues.issues) : null, source: record.id });
        commit.messages.push(selfEvent(record.id, { type: 'spine.delivery.refused', to: target, eventType: send.event.type, reason, issues: issues.issues }, now));
        continue;
      }
      commit.messages.push({ actorId: target, type: send.event.type, event: json, dueAt, sendId: send.sendId, source: record.id });
    }
  }

  async #validateFor(target: string, event: EventObject, commit: StepCommit): Promise<{ reason: string; issues: FieldIssue[] } | undefined> {
    if (target === commit.actorId) return undefined;
    const spawned = commit.spawn.find((s) => s.id === target);
    const machineName = spawned?.machine ?? (await this.store.getActor(target))?.machine;
    if (!machineName) return { reason: `No actor with id '${target}'.`, issues: [] };
    if (RESERVED.test(event.type)) return undefined;
    const issues = eventIssues(this.registry.definition(machineName), event);
    return issues.length ? { reason: describeIssues(machineName, event.type, issues), issues } : undefined;
  }

  #haltRevision = -1;
  #haltable = false;
  /**
   * Whether any machine this host knows declares a high-risk activity: only those can
   * halt a run, so hosts without one skip the per-drain check (the scan's SQL still
   * leaves halted runs alone).
   */
  #mayHalt(): boolean {
    if (this.registry.revision !== this.#haltRevision) {
      this.#haltRevision = this.registry.revision;
      this.#haltable = this.registry.names().some((name) => {
        try {
          return [...riskPolicies(this.registry.machine(name).machine).values()].some((p) => p.tier === 'high');
        } catch {
          return true; // cannot tell: check
        }
      });
    }
    return this.#haltable;
  }

  /** Why an agent proposes risky work: the state and event, the reasoning it keeps in context, its last journal entry. */
  async #rationale(record: ActorRecord, job: { context: unknown; event: EventObject; src: string }, policy: RiskPolicy): Promise<Record<string, unknown>> {
    let lastJournal: unknown = null;
    const jobs = await this.store.listJobs({ actorId: record.id, status: ['done', 'failed'] });
    for (let i = jobs.length - 1; i >= 0 && lastJournal === null; i--) {
      const entries = JSON.parse(jobs[i]!.journal) as Record<string, unknown>[];
      const entry = entries.at(-1);
      if (entry) lastJournal = { jobKey: jobs[i]!.key, src: jobs[i]!.src, ...entry };
    }
    return ApprovalDesk.rationale({ policy, context: job.context, event: job.event.type, src: job.src, lastJournal });
  }

  #traceStep(record: ActorRecord, seq: number, commit: StepCommit, startedAt: number): void {
    const endedAt = this.clock.now();
    this.#telemetry.step({ runId: record.runId, actorId: record.id, machine: record.machine, version: record.version, seq, eventType: commit.history.eventType, state: commit.stateValue, status: commit.status, startedAt, endedAt, error: commit.error });
    if (commit.status !== 'active' && record.parentId === null) {
      this.#telemetry.run({ runId: record.runId, machine: record.machine, version: record.version, status: commit.status, createdAt: record.createdAt, endedAt, error: commit.error });
    }
  }

  /** When an actor finishes, its parent learns in the same commit and its children stop. */
  #finish(record: ActorRecord, commit: StepCommit, now: number): void {
    commit.cancelJobs.push('*');
    if (!record.parentId || !record.childKey) return;
    const event =
      commit.status === 'done'
        ? { type: `xstate.done.actor.${record.childKey}`, output: commit.output === null ? undefined : JSON.parse(commit.output), actorId: record.childKey }
        : { type: `xstate.error.actor.${record.childKey}`, error: { name: 'ActorError', message: commit.error ?? 'failed' }, actorId: record.childKey };
    commit.messages.push({ actorId: record.parentId, type: event.type, event: JSON.stringify(event), dueAt: now, source: record.id });
  }

  #publish(record: ActorRecord, history: HistoryRecord, emitted: EventObject[]): void {
    if (!this.#listeners.size) return;
    const notice: StepNotice = {
      actor: { id: record.id, runId: record.runId, parentId: record.parentId, machine: record.machine, version: record.version, status: record.status },
      history,
      emitted,
    };
    for (const listener of this.#listeners) {
      try {
        listener(notice);
      } catch (error) {
        this.#onError(ensureError(error), 'step listener');
      }
    }
  }

  // ---- activities -------------------------------------------------------------

  #startJob(key: string): void {
    if (!this.#options.runActivities || this.#stopping || this.#jobs.has(key)) return;
    const controller = new AbortController();
    this.#jobs.set(key, controller);
    const promise = this.#runJob(key, controller)
      .catch((error) => this.#onError(ensureError(error), `activity ${key}`))
      .finally(() => {
        this.#jobs.delete(key);
        this.#jobPromises.delete(promise);
        this.#longLived.delete(promise);
        this.#jobPromiseOf.delete(key);
        this.#notifySettle();
      });
    this.#jobPromises.add(promise);
    this.#jobPromiseOf.set(key, promise);
  }

  readonly #jobChild = new Map<string, string>();

  /** Aborts this host's running attempts of an actor's jobs for one invoke id (or all, with '*'). */
  #abortJob(actorId: string, childId: string): void {
    for (const [key, controller] of this.#jobs) {
      if (!key.startsWith(`${actorId}:`)) continue;
      if (childId === '*' || this.#jobChild.get(key) === childId) controller.abort(new SpineError('closed', 'The invoking state was left.'));
    }
  }

  async #runJob(key: string, controller: AbortController): Promise<void> {
    const job = await this.store.claimJob(key, this.hostId, this.clock.now(), this.#deadOwners);
    if (!job) return;
    this.#jobChild.set(key, job.childId);
    try {
      await this.#attempt(job, controller);
    } finally {
      this.#jobChild.delete(key);
    }
  }

  async #attempt(job: JobRecord, controller: AbortController): Promise<void> {
    const actor = await this.store.getActor(job.actorId);
    if (!actor) return;
    const definition = this.registry.definition(actor.machine);
    const activity = definition.activities?.[job.src];
    if (activity?.kind === 'callback') {
      const promise = this.#jobPromiseOf.get(job.key);
      if (promise && this.#jobPromises.delete(promise)) this.#longLived.add(promise);
      this.#notifySettle();
    }
    const journal = JSON.parse(job.journal) as Record<string, unknown>[];
    const entry: Record<string, unknown> = { attempt: job.attempts, host: this.hostId, startedAt: this.clock.now() };
    const context = actor.snapshot ? (JSON.parse(actor.snapshot) as { context?: unknown }).context : undefined;
    const t0 = performance.now();
    let tier: RiskPolicy['tier'] | undefined;
    try {
      tier = riskPolicies((await this.registry.pinned(actor.machine, actor.version, this.store)).machine).get(job.childId)?.tier;
    } catch {
      tier = undefined; // an invalid policy already failed the step that requested this job
    }
    const span: ActivitySpan = this.#telemetry.activity({ runId: job.runId, actorId: job.actorId, jobKey: job.key, src: job.src, attempt: job.attempts, startedAt: entry.startedAt as number });
    const finishEntry = (outcome: string, extra: Record<string, unknown> = {}) => {
      Object.assign(entry, { outcome, durationMs: Math.round((performance.now() - t0) * 100) / 100 }, extra);
      span.end(entry, outcome === 'ok' ? 'ok' : outcome === 'retry' ? 'retry' : 'failed', this.clock.now());
      return JSON.stringify([...journal, entry]);
    };
    const audit = (outcome: string) => auditOfAttempt({ job, machine: actor.machine, tier, entry, outcome, now: this.clock.now() });
    const deliver = async (status: 'done' | 'failed', value: unknown) => {
      const event =
        status === 'done'
          ? { type: `xstate.done.actor.${job.childId}`, output: value, actorId: job.childId }
          : { type: `xstate.error.actor.${job.childId}`, error: value, actorId: job.childId };
      const delivered = await this.store.completeJob({
        key: job.key,
        owner: this.hostId,
        status,
        output: status === 'done' ? JSON.stringify(value ?? null) : null,
        error: status === 'failed' ? JSON.stringify(value) : null,
        journal: finishEntry(status === 'done' ? 'ok' : 'failed', status === 'failed' ? { error: value } : {}),
        event: { actorId: job.actorId, type: event.type, event: JSON.stringify(event), dueAt: this.clock.now(), source: `activity:${job.key}` },
        audit: audit(status === 'done' ? 'ok' : 'failed'),
      });
      if (delivered) this.#kick(job.actorId);
    };
    if (!activity) {
      await deliver('failed', { name: 'SpineError', code: 'unknown_activity', message: `Machine '${actor.machine}' has no activity '${job.src}'.` });
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
      now: () => this.clock.now(),
      record: (facts) => void Object.assign(entry, facts),
      previousAttempts: journal,
      runJournal: async () => {
        const jobs = await this.store.listJobs({ runId: job.runId });
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
        span.end(entry, 'aborted', this.clock.now());
        return;
      }
      await deliver('done', output);
    } catch (thrown) {
      if (controller.signal.aborted && !(RetryableError.is(thrown) && thrown.kind === 'timeout')) {
        span.end(entry, 'aborted', this.clock.now());
        return; // stopping or cancelled: the store decides what runs again
      }
      const error = ensureError(thrown);
      const maxAttempts = activity.maxAttempts ?? 10;
      let delay: number | undefined;
      if (RetryableError.is(error)) delay = error.retryAfterMs ?? backoff(job.attempts, {});
      else if (!TerminalError.is(error) && activity.retry && job.attempts < activity.retry.maxAttempts) delay = backoff(job.attempts, activity.retry);
      if (delay !== undefined && job.attempts < maxAttempts) {
        const runAt = this.clock.now() + delay;
        const retried = await this.store.retryJob({
          key: job.key,
          owner: this.hostId,
          runAt,
          journal: finishEntry('retry', { error: serializeError(error), retryInMs: delay }),
          audit: audit('retry'),
        });
        if (retried) void this.#scheduleWake();
        return;
      }
      await deliver('failed', encodeRejection(thrown));
    }
  }

  /** An event an activity sends to the actor that invoked it (a callback's `sendBack`), through its durable mailbox. */
  async #sendFromActivity(job: JobRecord, machine: string, event: EventObject): Promise<void> {
    const json = safeStringify(event);
    const source = `activity:${job.key}`;
    const issues = json === undefined ? [{ path: '(event)', message: 'the event is not JSON-serialisable' }] : eventIssues(this.registry.definition(machine), event);
    if (issues.length || json === undefined) {
      await this.store.recordDeadLetters([{ actorId: job.actorId, event: json ?? '{}', reason: describeIssues(machine, event?.type, issues), issues: JSON.stringify(issues), source }]);
      return;
    }
    await this.store.enqueue([{ actorId: job.actorId, type: event.type, event: json, dueAt: this.clock.now(), source }]);
    this.#kick(job.actorId);
  }
}

/**
 * How an activity's rejection reaches the machine as `event.error` (documented in the
 * runtime README): a thrown value that is JSON (a string, number, boolean, null, a plain
 * object or array) arrives as itself after a JSON round trip; an `Error` arrives as
 * `serializeError` makes it (`name`, `message`, and `code`/`kind`/`details` when set), plus
 * its own enumerable JSON fields; `undefined` arrives as `undefined`.
 */
export function encodeRejection(thrown: unknown): unknown {
  if (thrown === undefined) return undefined;
  if (thrown instanceof Error || (typeof thrown === 'object' && thrown !== null && Object.prototype.toString.call(thrown) === '[object Error]')) {
    const own: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(thrown)) {
      const json = safeStringify(value);
      if (json !== undefined) own[key] = JSON.parse(json) as unknown;
    }
    return { ...own, ...serializeError(thrown) };
  }
  const json = safeStringify(thrown);
  return json === undefined ? serializeError(thrown) : (JSON.parse(json) as unknown);
}

/** A custom action that threw while its step was planned: the actor goes to `error`, as in xstate. */
class ActionError extends Error {
  constructor(action: string, cause: unknown) {
    super(`Action '${action}' threw: ${ensureError(cause).message}`, { cause });
    this.name = 'ActionError';
  }
}

/** Whether a store error comes from what the commit contains (so retrying it as is cannot help). */
function isDeterministicStoreError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)|^23\d{3}$/.test(code);
}

/**
 * The snapshot a restarted host would load: the context as its committed JSON says
 * (keys set to `undefined` are gone), so a warm host takes the branches a restarted one takes.
 */
function asRestored(next: AnyMachineSnapshot, persistedJson: string): AnyMachineSnapshot {
  const persisted = JSON.parse(persistedJson) as { context?: unknown };
  (next as { context: unknown }).context = persisted.context;
  return next;
}

/** Event issues for a machine: a machine written in code without event schemas accepts every event, as xstate does. */
function eventIssues(definition: MachineDefinition, event: unknown): FieldIssue[] {
  if (definition.machine && !definition.schemas.events) {
    const type = (event as { type?: unknown } | null)?.type;
    return typeof type === 'string' && type ? [] : [{ path: 'type', message: 'an event must have a string "type"' }];
  }
  return validateEvent(definition, event);
}

/** What a step causes, before anything is planned: written with the snapshot in one commit. */
function emptyOutbox(): Pick<StepCommit, 'messages' | 'cancelTimers' | 'jobs' | 'cancelJobs' | 'spawn' | 'stop' | 'deadLetters' | 'approvals' | 'audit'> {
  return { messages: [], cancelTimers: [], jobs: [], cancelJobs: [], spawn: [], stop: [], deadLetters: [], approvals: [], audit: [] };
}

/** The key of the final state reached, if it is marked `meta: { outcome: 'failure' }`. */
function failureFinalState(snapshot: AnyMachineSnapshot): string | undefined {
  for (const [id, meta] of Object.entries(snapshot.getMeta() as Record<string, { outcome?: unknown } | undefined>)) {
    if (meta?.outcome === 'failure') return id.split('.').pop();
  }
  return undefined;
}

function registryOf(definitions: MachineDefinition[]): MachineRegistry {
  const registry = new MachineRegistry();
  for (const definition of definitions) registry.register(definition);
  return registry;
}

function parseInput(definition: MachineDefinition, input: unknown, machine: string): unknown {
  const schema = definition.schemas.input;
  if (!schema) return input;
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = zodIssues(result.error);
  throw new SpineError('invalid_input', `Invalid input for machine '${machine}': ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { machine, issues });
}

function parseActivityInput(activity: Activity, input: unknown): unknown {
  const result = activity.input!.safeParse(input);
  if (result.success) return result.data;
  const issues = zodIssues(result.error);
  throw new TerminalError(`Invalid activity input: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { kind: 'invalid_input' });
}

function initEvent(actorId: string, input: unknown, now: number, source: string): NewEvent {
  return { actorId, type: 'xstate.init', event: JSON.stringify({ type: 'xstate.init', input }), dueAt: now, source };
}

function selfEvent(actorId: string, event: EventObject & Record<string, unknown>, now: number): NewEvent {
  return { actorId, type: event.type, event: JSON.stringify(event), dueAt: now, source: 'runtime' };
}

function issuesJson(error: unknown): string | null {
  return SpineError.is(error) && error.issues?.length ? JSON.stringify(error.issues) : null;
}

function describeIssues(machine: string, type: string | undefined, issues: FieldIssue[]): string {
  return `Event '${type ?? '(no type)'}' refused by machine '${machine}': ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
}

function safeStringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
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

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let runCounter = 0;
function newRunId(): string {
  runCounter = (runCounter + 1) % 1296;
  return `run-${Date.now().toString(36)}${runCounter.toString(36).padStart(2, '0')}-${randomUUID().slice(0, 6)}`;
}

/** Statuses in which an actor takes no more events. */
export const FINISHED: readonly ActorStatus[] = ['done', 'error', 'stopped'];
export type { NewDeadLetter };
