// Long because one actor's step path stays in one place: mailbox and delivered results ->
// transition -> plan -> (group) commit -> effects, with the actor cache the plan reads from.
// The pure parts live beside it: planStep, planCommit, readStepInputs, GroupCommit, stepFailures.
import { performance } from 'node:perf_hooks';
import { createActor, type AnyMachineSnapshot, type EventObject } from 'xstate';
import type { Clock } from '../clock.js';
import type { MailboxWork } from '../host/Scheduler.js';
import { ensureError } from '../errors.js';
import type { MachineRegistry, MachineVersion } from '../MachineRegistry.js';
import { hasOwn } from '../names.js';
import { decodeContext, decodeSnapshot, snapshotContext } from '../snapshotCodec.js';
import { riskPolicies } from '../riskPolicy.js';
import { advancedActor, createdActor, stepHistory } from '../storeRows.js';
import type { ActorRecord, BatchResult, CommitResult, HistoryRecord, HostStore, JobCompletion, JobRecord, MailboxEvent, NewActor, NewJob, StepCommit } from '../Store.js';
import type { RunTelemetry } from '../telemetry.js';
import { hostInitialTransition, hostTransition } from '../xstateLogic.js';
import { planCommit, planEndedStep, type PlanEnv, type PlannedStep, type StepEvent, type StepInputs, type StepResult } from './planCommit.js';
import { planStep, type ExecutableAction } from './planStep.js';
import { GroupCommit } from './GroupCommit.js';
import { readStepInputs, type KnownActor, type KnownJob } from './readStepInputs.js';
import { runOf } from './jobKey.js';
import { isTransientStepError, StepFailures } from './stepFailures.js';

/** Mailbox events a drain reads at a time. */
const MAILBOX_BATCH = 64;

/** What a listener learns after each commit. */
export interface StepNotice {
  /** The actor as the step left it (`output` and `error` as its row keeps them: JSON text, or null). */
  actor: Pick<ActorRecord, 'id' | 'runId' | 'parentId' | 'machine' | 'version' | 'status' | 'output' | 'error'>;
  history: HistoryRecord;
  emitted: EventObject[];
}

/** An actor held in memory between steps. */
interface LoadedActor {
  record: ActorRecord;
  version: MachineVersion;
  snapshot: AnyMachineSnapshot | undefined;
  /** What the host knows of the actor's rows without reading them (see `KnownActor`). */
  known: KnownActor;
  /**
   * An event this host stored that headed the actor's mailbox (its init event, or a send), not yet
   * applied: the next drain steps it instead of reading the mailbox (see `prime`, `primeEvent`).
   */
  primed?: PrimedEvent;
}

/** A stored mailbox event as a step needs it. */
type PrimedEvent = Pick<MailboxEvent, 'id' | 'type' | 'event' | 'dueAt' | 'source'>;

/** Jobs the host follows per actor; past this many it reads them instead (an actor with that many at once is rare). */
const MAX_KNOWN_JOBS = 32;

/** What the host knows of an actor it has just created (or read at seq 0): nothing of it yet. */
const NEW_ACTOR: KnownActor = Object.freeze({ childless: true, approvalFree: true, timerFree: true, openJobs: new Map<string, KnownJob>() });

/** What the host knows of an actor read back (or after a step it did not plan): nothing, so each read is made. */
const UNKNOWN_ACTOR: KnownActor = Object.freeze({ childless: false, approvalFree: false, timerFree: false, openJobs: undefined });

/** A step planned from the actor in memory. */
interface PlanOutcome {
  result: StepResult;
  planned: PlannedStep;
  env: PlanEnv;
  /** What the host knows of the actor once this step commits. */
  known: KnownActor;
}

/** What the step runner needs from its host. */
export interface StepHost {
  store: HostStore;
  registry: MachineRegistry;
  clock: Clock;
  hostId: string;
  telemetry: RunTelemetry;
  maxCachedActors: number;
  stopping(): boolean;
  deadOwners(): string[];
  /** After commit: wake another actor, start or abort jobs, arm the wake timer, tell listeners. */
  kick(actorId: string): void;
  /** An activity result waits for this actor (`deliver`): drain it without reading its mailbox. */
  kickResult(actorId: string): void;
  scheduleWake(): void;
  /** Starts a job; `claimed` when this host claimed it in the commit that created it. */
  startJob(key: string, claimed?: JobRecord): void;
  /** Whether this host runs the jobs its steps create (so may claim them in the same commit). */
  claimsJobs(): boolean;
  /** Most steps in one group commit (default 256). */
  maxBatch?: number;
  /** Drains running now: each may add a step to the group commit being collected. */
  drainsInProgress(): number;
  /** A promise when the event loop has not turned lately: a long drain waits for it between events (see `Scheduler.turnDue`). */
  turnDue?(): Promise<void> | undefined;
  abortJobs(actorId: string, childId: string): void;
  /** Aborts this host's attempts of an actor's jobs after a fence refused it, handing back the jobs still its own. */
  abortFencedJobs(actorId: string): void;
  /** Delivers an event the step sent to one of its activity children (a callback's `receive`). */
  deliverToActivity(actorId: string, childId: string, event: EventObject): void;
  publish(notice: StepNotice): void;
  /** A commit or result of this host was refused by a fence: tell people (log and audit). */
  fenced(notice: FenceNotice): void;
}

/** A write of this host refused because another host owns the actor or job now. */
export interface FenceNotice {
  kind: 'host.fenced' | 'job.result_refused';
  actorId: string;
  runId: string;
  /** The job whose result was refused. */
  jobKey?: string;
  reason: string;
}

/**
 * Drives one actor's mailbox a step at a time: mailbox -> `transition()` ->
 * custom actions -> `readStepInputs` -> `planCommit` -> `commitStep` -> effects.
 * Only this class holds actors in memory (an LRU of hot snapshots).
 */
export class StepRunner {
  readonly #host: StepHost;
  readonly #cache = new Map<string, LoadedActor>();
  readonly #stepFailures = new StepFailures();
  readonly #commits: GroupCommit;
  /** Activity results delivered to actors and not yet committed, in arrival order. */
  readonly #results = new Map<string, JobCompletion[]>();
  /** Runs being created with their first step (`start`): committers of the group commit, as drains are. */
  #starting = 0;
  /** The current version of a machine by name, for plans (`PlanEnv.machine`). */
  readonly #machine: PlanEnv['machine'];
  #haltRevision = -1;
  #haltable = false;

  constructor(host: StepHost) {
    this.#host = host;
    this.#machine = (name) => host.registry.machine(name);
    this.#commits = new GroupCommit(host.store, { ...(host.maxBatch ? { maxBatch: host.maxBatch } : {}), committers: () => host.drainsInProgress() + this.#starting });
  }

  /** Forgets every actor held in memory. */
  clear(): void {
    this.#cache.clear();
  }

  /**
   * Holds an actor this host has just created and owns (its row as `createActors` wrote it), so
   * its first step reads nothing back: neither the row nor, given `init` (the event written with
   * it, as stored), the mailbox. A row that changed meanwhile (another host took it over, a stop)
   * or an event already consumed is caught by the commit's conditions as for any cached actor.
   * An event stored after `init` is not missed: whoever stores it kicks or wakes the actor's host.
   */
  async prime(record: ActorRecord, init?: PrimedEvent): Promise<boolean> {
    if (record.owner !== this.#host.hostId || record.seq !== 0 || record.status !== 'active' || this.#cache.has(record.id)) return false;
    const version = await this.#host.registry.pinned(record.machine, record.version, this.#host.store);
    if (this.#cache.has(record.id)) return false;
    this.#hold(record.id, { record, version, snapshot: undefined, known: NEW_ACTOR, ...(init ? { primed: init } : {}) });
    return init !== undefined;
  }

  /**
   * Creates a run's actor with its first step, in one commit (the store's `createsWithStep`):
   * the init event is applied as given, with no mailbox row, from an actor held in memory at
   * seq 0 as `createActors` would have written it. Resolves once both are committed (the step's
   * effects started, its listeners told), or with the store's answer when it refused the entry;
   * `unstarted` when planning threw or the transaction failed (an id taken, a busy or failing
   * disk): nothing was written, and the run starts the usual way, `createActors` then its first
   * step, which is retried, and ends the actor if it keeps failing, as any step.
   */
  async start(actor: NewActor, init: Pick<MailboxEvent, 'event' | 'source'>): Promise<true | 'halted' | 'unstarted' | Exclude<BatchResult, { ok: true }>> {
    const { registry, store, clock } = this.#host;
    const version = await registry.pinned(actor.machine, actor.version, store);
    const startedAt = clock.now();
    const t0 = performance.now();
    const record = createdActor(actor, startedAt);
    const loaded: LoadedActor = { record, version, snapshot: undefined, known: NEW_ACTOR };
    const stepEvent: StepEvent = { id: 0, json: init.event, event: JSON.parse(init.event) as EventObject, source: init.source };
    this.#starting++;
    let outcome: BatchResult;
    let made: PlanOutcome;
    try {
      try {
        made = await this.#plan(loaded, stepEvent, startedAt, t0);
        outcome = await this.#commits.commit({ create: actor, step: this.#fence(loaded, made.planned.commit as StepCommit, null) });
      } catch {
        return 'unstarted';
      }
    } finally {
      this.#starting--;
    }
    if (!outcome.ok) return outcome;
    this.#hold(actor.id, loaded);
    return this.#committed(loaded, record, made.result, made.planned, startedAt, made.known);
  }

  /**
   * An event this host has just stored for an actor it holds, which headed its mailbox when stored
   * (no other event of it was due): the actor's next drain steps it without reading the mailbox,
   * as a read would have found it first. An event stored after it kicks or wakes the host as usual;
   * one consumed meanwhile (a drain that read it) is caught by the commit, which then reads again.
   */
  primeEvent(event: PrimedEvent & { actorId: string }): boolean {
    const loaded = this.#cache.get(event.actorId);
    if (!loaded || loaded.primed) return false;
    loaded.primed = event;
    return true;
  }

  /** The record of an actor held in memory (current as of this host's last commit), if any. */
  cached(actorId: string): ActorRecord | undefined {
    return this.#cache.get(actorId)?.record;
  }

  /**
   * Hands an activity's result to its actor. The actor's next drain applies it with
   * the step it causes, in one commit (the job's completion, the transition, the jobs
   * and messages it creates); if the actor cannot step it directly, the same commit
   * puts the result in its mailbox instead.
   */
  deliver(completion: JobCompletion): void {
    const actorId = completion.event.actorId;
    const waiting = this.#results.get(actorId);
    if (waiting) waiting.push(completion);
    else this.#results.set(actorId, [completion]);
    this.#host.kickResult(actorId);
  }

  /** Commits the results no drain took (the host is stopping): each goes to its actor's mailbox. */
  async flushResults(): Promise<void> {
    const completions = [...this.#results.values()].flat();
    this.#results.clear();
    await Promise.all(completions.map((completion) => this.#commits.commit({ completion })));
  }

  /**
   * Applies an actor's delivered activity results, then (with `mailbox`, or when a
   * result had to wait in it) every due event of its mailbox, one committed step each.
   */
  async drain(actorId: string, mailbox: MailboxWork = true): Promise<void> {
    const { store, clock } = this.#host;
    const held = this.#load(actorId);
    let loaded = held instanceof Promise ? await held : held;
    const results = this.#results.get(actorId);
    if (results) {
      this.#results.delete(actorId);
      let queued = false;
      let halted = false;
      for (let index = 0; index < results.length; index++) {
        const completion = results[index]!;
        // Once one result waits in the mailbox, the later ones follow it there, in order.
        const direct = !queued && !halted && loaded !== undefined && loaded.record.status === 'active' && !this.#host.stopping() && !this.#mayHalt();
        let outcome: boolean | 'halted' | BatchResult;
        try {
          outcome = direct ? await this.#applyResult(loaded!, completion) : await this.#commits.commit({ completion });
        } catch (error) {
          // Not committed: keep this result and the later ones for the next drain (or the stop's flush).
          this.#results.set(actorId, [...results.slice(index), ...(this.#results.get(actorId) ?? [])]);
          throw error;
        }
        if (outcome === 'halted') halted = true;
        else if (outcome === false) {
          this.#cache.delete(actorId); // the actor moved on elsewhere: read it again
          loaded = await this.#load(actorId);
          queued = true;
        } else if (outcome !== true && !outcome.ok && outcome.reason === 'refused') {
          this.#refused(completion);
        } else if (outcome !== true && !outcome.ok && outcome.reason === 'fenced') {
          // The result was journaled (the job was still ours) and waits in the mailbox for the actor's new owner.
          this.#fencedOut(actorId, completion.event.source);
          loaded = undefined;
          queued = true;
        } else if (outcome !== true && (outcome.ok || outcome.reason !== 'cancelled')) queued = true;
      }
      if (halted) return; // the step asked for high-risk work: the run waits for a person
      if (queued) mailbox = true;
      else if (loaded && loaded.record.status !== 'active') this.#cache.delete(actorId);
    }
    if (!mailbox) return;
    let conflicts = 0;
    while (loaded && !this.#host.stopping()) {
      if (this.#mayHalt() && (await store.isRunHalted(loaded.record.runId))) return; // a high-risk approval holds the run
      const primed = takePrimed(loaded, clock.now());
      const events = primed ?? (await store.nextEvents(actorId, clock.now(), MAILBOX_BATCH));
      if (!events.length) return;
      // A short read was the whole mailbox: an event stored after it kicks the actor again
      // (a send, another actor's message, a result that waits there, a woken host's scan, a
      // message of its own step: see #committed), so it is not read again to find it empty.
      // A primed event stands for a read made when it was stored: the mailbox is read after it
      // only when the actor was kicked for more than it (`mailbox === true`).
      let again = primed ? mailbox === true : events.length === MAILBOX_BATCH;
      for (const mailboxEvent of events) {
        const turn = this.#host.turnDue?.();
        if (turn) await turn;
        if (loaded.primed?.id === mailboxEvent.id) loaded.primed = undefined; // read with the rest: not stepped twice
        if (loaded.record.status !== 'active') {
          await store.discardEvent(mailboxEvent.id, {
            actorId,
            event: mailboxEvent.event,
            reason: `Actor '${actorId}' is ${loaded.record.status}; the event arrived after it finished.`,
            issues: null,
            source: mailboxEvent.source,
          });
          continue;
        }
        const committed = await this.#step(loaded, mailboxEvent);
        if (committed === 'halted') return; // the step asked for high-risk work: the run waits for a person
        if (committed === 'fenced') {
          this.#fencedOut(actorId, `step of event ${mailboxEvent.type}`);
          return;
        }
        if (committed === 'discarded') continue; // the event was dead-lettered; the actor is as it was
        if (!committed) {
          // Another writer moved the actor (or consumed the event): reload and re-read the
          // mailbox. Repeated conflicts mean someone else drives it: leave it to the next poll.
          this.#cache.delete(actorId);
          if (++conflicts > 3) return;
          loaded = await this.#load(actorId);
          again = true;
          break;
        }
        conflicts = 0;
        if (this.#host.stopping()) return;
      }
      if (loaded && loaded.record.status !== 'active') {
        this.#cache.delete(actorId);
        again = true; // once more: events that came while it finished are dead-lettered now, with the reason
      }
      if (!again) return;
    }
  }

  /** The actor held in memory (at once), or read from the store (claimed first when another host owned it). */
  #load(actorId: string): LoadedActor | undefined | Promise<LoadedActor | undefined> {
    const cached = this.#cache.get(actorId);
    if (!cached) return this.#read(actorId);
    this.#cache.delete(actorId);
    this.#cache.set(actorId, cached);
    return cached;
  }

  async #read(actorId: string): Promise<LoadedActor | undefined> {
    const { store, registry, hostId } = this.#host;
    let record = await store.getActor(actorId);
    if (!record || record.status !== 'active') return undefined;
    if (record.owner !== hostId) {
      const claimed = await store.claimActors([actorId], hostId, this.#host.deadOwners(), this.#host.clock.now());
      if (!claimed.length) {
        store.wakeHosts?.(); // another host holds it (a message reached it here): its owner looks now, not at its next poll
        return undefined;
      }
      // Read again: the claim gave the actor a new epoch (this host's fencing token) and maybe a newer seq.
      record = await store.getActor(actorId);
      if (!record || record.status !== 'active' || record.owner !== hostId) return undefined;
    }
    const version = await registry.pinned(record.machine, record.version, store);
    const snapshot = record.snapshot ? (createActor(version.machine, { snapshot: decodeSnapshot(record.snapshot) }).getSnapshot() as AnyMachineSnapshot) : undefined;
    const fresh = record.seq === 0;
    return this.#hold(actorId, { record, version, snapshot, known: fresh ? NEW_ACTOR : UNKNOWN_ACTOR });
  }

  /** Keeps an actor in the cache, dropping the least recently used one past the limit. */
  #hold(actorId: string, loaded: LoadedActor): LoadedActor {
    this.#cache.set(actorId, loaded);
    if (this.#cache.size > this.#host.maxCachedActors) this.#cache.delete(this.#cache.keys().next().value!);
    return loaded;
  }

  /**
   * Plans a step from the actor in memory: `transition()`, the reads its result needs,
   * `planCommit`, with the jobs this host will run claimed in the step's own commit (`PlanEnv.claimer`).
   * `finishedJob`: the job whose result the step applies, ended by the same commit.
   */
  #plan(loaded: LoadedActor, stepEvent: StepEvent, startedAt: number, t0: number, finishedJob?: string): PlanOutcome | Promise<PlanOutcome> {
    const { store, registry } = this.#host;
    const { record, version } = loaded;
    const result = this.#transition(loaded, stepEvent.event as EventObject & { input?: unknown }, startedAt);
    const { childless, approvalFree, timerFree, openJobs } = loaded.known;
    const known: KnownActor = { childless, approvalFree, timerFree, openJobs };
    // Most steps need no read (readStepInputs answers at once): planned without waiting a turn.
    const inputs = readStepInputs(store, registry, record, version, result, known);
    return inputs instanceof Promise
      ? inputs.then((read) => this.#planWith(loaded, stepEvent, result, read, known, startedAt, t0, finishedJob))
      : this.#planWith(loaded, stepEvent, result, inputs, known, startedAt, t0, finishedJob);
  }

  #planWith(loaded: LoadedActor, stepEvent: StepEvent, result: StepResult, inputs: StepInputs, known: KnownActor, startedAt: number, t0: number, finishedJob: string | undefined): PlanOutcome {
    const { record, version } = loaded;
    const { hostId } = this.#host;
    const env: PlanEnv = { version, machine: this.#machine, hostId, now: startedAt, durationUs: Math.round((performance.now() - t0) * 1000) };
    if (this.#host.claimsJobs()) env.claimer = hostId;
    const planned = planCommit(record, stepEvent, result, inputs, env);
    const { commit } = planned;
    // Read (or known) empty, and this step creates none: still so once it commits.
    const after: KnownActor = {
      childless: known.childless && commit.spawn.length === 0,
      approvalFree: known.approvalFree && !commit.approvals?.length,
      timerFree: known.timerFree && !commit.messages.some((message) => message.sendId != null),
      openJobs: openJobsAfter(known.openJobs, commit as StepCommit, finishedJob),
    };
    return { result, planned, env, known: after };
  }

  async #step(loaded: LoadedActor, mailboxEvent: PrimedEvent): Promise<boolean | 'halted' | 'discarded' | 'fenced'> {
    const { registry, hostId } = this.#host;
    const startedAt = this.#host.clock.now();
    const t0 = performance.now();
    const record = loaded.record;
    const stepEvent: StepEvent = { id: mailboxEvent.id, json: mailboxEvent.event, event: JSON.parse(mailboxEvent.event) as EventObject, source: mailboxEvent.source };
    let env: PlanEnv = { version: loaded.version, machine: (name) => registry.machine(name), hostId, now: startedAt, durationUs: 0 };
    let result: StepResult | undefined;
    let outcome: { ok: true; planned: PlannedStep } | Extract<CommitResult, { ok: false }> | 'discarded';
    let claimed: PlannedStep | undefined;
    let known: KnownActor | undefined;
    try {
      const planning = this.#plan(loaded, stepEvent, startedAt, t0);
      const made = planning instanceof Promise ? await planning : planning;
      ({ result, env, known, planned: claimed } = made);
      const committed = await this.#commits.commit({ step: this.#fence(loaded, claimed.commit as StepCommit) });
      outcome = committed.ok ? { ok: true, planned: claimed } : (committed as Extract<CommitResult, { ok: false }>);
      this.#stepFailures.succeeded(`${record.id}:${stepEvent.id}`);
    } catch (error) {
      outcome = await this.#endOrRethrow(loaded, stepEvent, env, error);
    }
    // Consumed (or dead-lettered): if this was the event the actor is primed with, a send primed it
    // after this drain had read it, and it must not be stepped again.
    if (loaded.primed?.id === mailboxEvent.id && (outcome === 'discarded' || outcome.ok)) loaded.primed = undefined;
    if (outcome === 'discarded') return 'discarded';
    if (!outcome.ok) return outcome.reason === 'fenced' ? 'fenced' : false;
    return this.#committed(loaded, record, result, outcome.planned, startedAt, outcome.planned === claimed ? known : undefined);
  }

  /**
   * One commit for an activity's result and the step it causes. True when both
   * committed; false when the actor moved on elsewhere (the result waits in its mailbox);
   * otherwise the store's answer (`cancelled`: the job was no longer ours, nothing written;
   * `queued`/`consumed`/`failed`: the result waits in the mailbox).
   */
  async #applyResult(loaded: LoadedActor, completion: JobCompletion): Promise<boolean | 'halted' | BatchResult> {
    const startedAt = this.#host.clock.now();
    const t0 = performance.now();
    const record = loaded.record;
    const event = JSON.parse(completion.event.event) as EventObject & { actorId?: unknown };
    // A result's event names its child (`actorId`): the job this commit finishes is that child's.
    const stepEvent: StepEvent = { id: 0, json: completion.event.event, event, source: completion.event.source };
    if (typeof event.actorId === 'string') stepEvent.finishes = event.actorId;
    let made: PlanOutcome;
    try {
      // Most plans need no read: taken at once, not a turn later.
      const planning = this.#plan(loaded, stepEvent, startedAt, t0, completion.key);
      made = planning instanceof Promise ? await planning : planning;
    } catch (error) {
      // Planning failed: the result goes to the mailbox, where a step that keeps failing ends.
      if (this.#host.stopping() || isTransientStepError(ensureError(error))) throw error;
      return this.#commits.commit({ completion });
    }
    const { result, planned: claimed, known } = made;
    const outcome = await this.#commits.commit({ completion, step: this.#fence(loaded, claimed.commit as StepCommit, null) });
    if (outcome.ok) return this.#committed(loaded, record, result, claimed, startedAt, known);
    return outcome.reason === 'conflict' ? false : outcome;
  }

  /** After commit: only now may anything the step caused become visible. `known`: what the plan knew (none for a step ended instead). */
  #committed(loaded: LoadedActor, record: ActorRecord, result: StepResult | undefined, planned: PlannedStep, startedAt: number, known: KnownActor | undefined): true | 'halted' {
    const { commit, seq, emitted } = planned;
    loaded.known = known ?? UNKNOWN_ACTOR;
    loaded.record = advancedActor(record, commit, seq, startedAt);
    if (result?.ok && commit.status !== 'error') loaded.snapshot = asRestored(result.next, planned.context ? decodeContext(planned.context) : snapshotContext(commit.snapshot));
    for (const childId of commit.cancelJobs) this.#host.abortJobs(record.id, childId);
    for (const stopped of commit.stop) {
      this.#cache.delete(stopped.id);
      for (const childId of stopped.cancelJobs) this.#host.abortJobs(stopped.id, childId);
    }
    for (const job of commit.jobs) this.#host.startJob(job.key, job.claimedBy ? claimedJob(job, startedAt) : undefined);
    for (const { childId, event } of planned.activityEvents) this.#host.deliverToActivity(record.id, childId, event);
    // A message to itself too: its drain ends with the mailbox it read, and this one came after.
    for (const message of commit.messages) if (message.dueAt <= startedAt) this.#host.kick(message.actorId);
    if (commit.messages.some((m) => m.dueAt > startedAt)) this.#host.scheduleWake();
    this.#host.publish({
      actor: { id: record.id, runId: record.runId, parentId: record.parentId, machine: record.machine, version: record.version, status: commit.status, output: commit.output, error: commit.error },
      history: stepHistory(commit, record.runId, seq),
      emitted: emitted.length ? [...emitted] : [],
    });
    this.#traceStep(record, seq, commit, startedAt);
    return planned.halts ? 'halted' : true;
  }

  /**
   * `transition()` and the sorted actions, then the custom actions in xstate's order, as
   * its interpreter runs them inside the transition: one that throws fails the step
   * (the actor goes to `error`) and nothing else of it is written.
   */
  #transition(loaded: LoadedActor, event: EventObject & { input?: unknown }, now: number): StepResult {
    const { record, version } = loaded;
    const hasParent = record.parentId !== null;
    try {
      let next: AnyMachineSnapshot;
      let actions: ExecutableAction[];
      if (event.type === 'xstate.init') {
        if (loaded.snapshot) throw new Error('xstate.init delivered to an actor that already started');
        [next, actions] = hostInitialTransition(version.machine, event.input, { hasParent });
      } else {
        if (!loaded.snapshot) throw new Error(`event '${event.type}' arrived before the actor started`);
        [next, actions] = hostTransition(version.machine, loaded.snapshot, event, { hasParent });
      }
      const plan = planStep(actions, {
        actorId: record.id,
        seq: record.seq + 1,
        now,
        isActivity: (src) => hasOwn(version.definition.activities, src),
        childMachine: (src) => version.childMachine(src),
      });
      for (const effect of plan.effects) {
        try {
          effect.exec?.(effect.info, effect.params);
        } catch (error) {
          // xstate keeps the previous snapshot of a transition, and the initial one of a start.
          const failure = new ActionError(effect.type, error);
          return event.type === 'xstate.init' ? { ok: false, error: failure, snapshot: next } : { ok: false, error: failure };
        }
      }
      return { ok: true, next, plan };
    } catch (error) {
      return { ok: false, error: ensureError(error) };
    }
  }

  /**
   * A step whose reads, plan or commit threw. A storage failure, or any error while the
   * host stops, is rethrown as is (a persistent one stops the host; a busy database is
   * tried again on the next pass). Any other error is tried once more; when the step
   * fails the same way twice (or `MAX_STEP_FAILURES` times in any way), it ends instead:
   * the actor goes to `error` with the reason, its event is consumed and dead-lettered
   * with that reason, so nothing retries forever. If even that commit fails, the event
   * alone is dead-lettered and the actor is left as it was.
   */
  async #endOrRethrow(loaded: LoadedActor, event: StepEvent, env: PlanEnv, error: unknown): Promise<{ ok: true; planned: PlannedStep } | Extract<CommitResult, { ok: false }> | 'discarded'> {
    const record = loaded.record;
    const failure = ensureError(error);
    if (this.#host.stopping() || isTransientStepError(failure)) throw failure;
    const reason = this.#stepFailures.failed(`${record.id}:${event.id}`, failure);
    if (reason === undefined) throw failure; // tried again on the next pass
    const { store, registry } = this.#host;
    try {
      const failed: StepResult = { ok: false, error: new Error(reason) };
      const inputs = await readStepInputs(store, registry, record, env.version, failed);
      const ended = planEndedStep(record, event, reason, inputs, env);
      const result = await this.#commits.commit({ step: this.#fence(loaded, ended.commit as StepCommit) });
      return result.ok ? { ok: true, planned: ended } : (result as Extract<CommitResult, { ok: false }>);
    } catch (second) {
      const again = ensureError(second);
      if (this.#host.stopping() || isTransientStepError(again)) throw again;
      await store.discardEvent(event.id, { actorId: record.id, event: event.json, reason: `${reason}; ending the step failed too: ${again.message}`, issues: null, source: event.source ?? record.id });
      return 'discarded';
    }
  }

  /** The commit, fenced by this host's ownership of the actor (the epoch it read when it loaded or claimed it); `eventId: null` for a result applied directly. */
  #fence(loaded: LoadedActor, commit: StepCommit, eventId?: null): StepCommit {
    const fence = { owner: this.#host.hostId, epoch: loaded.record.ownerEpoch };
    // The fence's key before the spread, then set: a spread followed by a key it lacks is V8's slow path (see storeRows).
    const fenced: StepCommit = { fence, ...commit };
    fenced.fence = fence;
    if (eventId === null) fenced.eventId = null;
    return fenced;
  }

  /**
   * A commit was refused by the fence: another host took the actor over (this host's lease
   * ran out). Forget it, stop its activities here (they run again under the new owner) and say so.
   */
  #fencedOut(actorId: string, what: string): void {
    const record = this.#cache.get(actorId)?.record;
    this.#cache.delete(actorId);
    this.#host.abortFencedJobs(actorId);
    this.#host.fenced({ kind: 'host.fenced', actorId, runId: record?.runId ?? runOf(actorId), reason: `${what}: the actor is owned by another host now (this host's lease ran out and it was taken over)` });
  }

  /** An activity result was refused: its job was taken over by another host or attempt. */
  #refused(completion: JobCompletion): void {
    const actorId = completion.event.actorId;
    const runId = this.#cache.get(actorId)?.record.runId ?? runOf(actorId);
    this.#cache.delete(actorId);
    this.#host.fenced({ kind: 'job.result_refused', actorId, runId, jobKey: completion.key, reason: `the result of attempt ${completion.attempt ?? '?'} was refused: the job was claimed again by another host or attempt` });
  }

  /**
   * Whether any machine this host knows declares a high-risk activity: only those can
   * halt a run, so hosts without one skip the per-drain check (the scan's SQL still
   * leaves halted runs alone).
   */
  #mayHalt(): boolean {
    const { registry } = this.#host;
    if (registry.revision !== this.#haltRevision) {
      this.#haltRevision = registry.revision;
      this.#haltable = registry.names().some((name) => {
        try {
          return [...riskPolicies(registry.machine(name).machine).values()].some((p) => p.tier === 'high');
        } catch {
          return true; // cannot tell: check
        }
      });
    }
    return this.#haltable;
  }

  #traceStep(record: ActorRecord, seq: number, commit: Readonly<StepCommit>, startedAt: number): void {
    const { telemetry, clock } = this.#host;
    if (!telemetry.live) return; // no tracer records: no span, nothing to describe
    const endedAt = clock.now();
    telemetry.step({ runId: record.runId, actorId: record.id, machine: record.machine, version: record.version, seq, eventType: commit.history.eventType, state: commit.stateValue, status: commit.status, startedAt, endedAt, error: commit.error });
    if (commit.status !== 'active' && record.parentId === null) {
      telemetry.run({ runId: record.runId, machine: record.machine, version: record.version, status: commit.status, createdAt: record.createdAt, endedAt, error: commit.error });
    }
  }
}

/**
 * The actor's open jobs once `commit` is written: less the one whose result it applies and those of
 * the children it cancels (as the store cancels them: every open job of that child, before the
 * step's own jobs are written), plus the jobs it creates.
 */
function openJobsAfter(open: ReadonlyMap<string, KnownJob> | undefined, commit: StepCommit, finishedJob: string | undefined): ReadonlyMap<string, KnownJob> | undefined {
  if (!open) return undefined;
  if (finishedJob === undefined && !commit.cancelJobs.length && !commit.jobs.length) return open;
  const next = new Map(open);
  if (finishedJob !== undefined) next.delete(finishedJob);
  for (const childId of commit.cancelJobs) for (const [key, job] of next) if (job.childId === childId) next.delete(key);
  for (const job of commit.jobs) next.set(job.key, { childId: job.childId, status: job.held ? 'held' : job.claimedBy ? 'running' : 'pending' });
  return next.size > MAX_KNOWN_JOBS ? undefined : next;
}

/** The event an actor was primed with, once, when it is due: the head of its mailbox, as a read would find it. */
function takePrimed(loaded: LoadedActor, now: number): PrimedEvent[] | undefined {
  const primed = loaded.primed;
  if (!primed) return undefined;
  loaded.primed = undefined;
  return primed.dueAt <= now ? [primed] : undefined;
}

/** The job row a claim in the creating commit wrote: running, first attempt, owned by this host. */
function claimedJob(job: NewJob, now: number): JobRecord {
  return { key: job.key, actorId: job.actorId, runId: job.runId, childId: job.childId, src: job.src, input: job.input, status: 'running', attempts: 1, runAt: job.runAt, owner: job.claimedBy ?? null, output: null, error: null, journal: '[]', createdAt: now, startedAt: now, finishedAt: null };
}

/** A custom action that threw while its step was planned: the actor goes to `error`, as in xstate. */
class ActionError extends Error {
  constructor(action: string, cause: unknown) {
    super(`Action '${action}' threw: ${ensureError(cause).message}`, { cause });
    this.name = 'ActionError';
  }
}

/**
 * The snapshot a restarted host would load: the context as its committed snapshot says
 * (a copy, as a restarted host reads it), so a warm host takes the branches a restarted one takes.
 */
function asRestored(next: AnyMachineSnapshot, context: unknown): AnyMachineSnapshot {
  (next as { context: unknown }).context = context;
  return next;
}
