/**
 * The storage contract of the durable host (a types-only module: it is long because
 * it documents every row the host writes and every method by role). Every method that changes more than
 * one row does so in one transaction: a step's snapshot, its history row, the
 * messages, jobs and timers it causes, and the consumption of its event are
 * committed together or not at all (see packages/runtime/README.md).
 *
 * JSON-valued fields are strings: the host serialises once and stores verbatim.
 */

/** Lifecycle of a durable actor. `active` actors may still receive events. */
export type ActorStatus = 'active' | 'done' | 'error' | 'stopped';

/** One durable actor: a row with its persisted snapshot. */
export interface ActorRecord {
  id: string;
  /** Id of the root actor of this run (itself for a root actor). */
  runId: string;
  parentId: string | null;
  /** The invoke id under which the parent knows this actor. */
  childKey: string | null;
  machine: string;
  version: string;
  /** Number of committed steps; 0 until the initial transition has run. */
  seq: number;
  status: ActorStatus;
  /** Persisted XState snapshot (JSON), null before the initial transition. */
  snapshot: string | null;
  /** JSON of the snapshot's state value, for listings. */
  stateValue: string | null;
  /** JSON output when done. */
  output: string | null;
  /** Why the actor failed, when status is `error`. */
  error: string | null;
  /** Host that currently drives this actor, if any. */
  owner: string | null;
  /** Fencing token: grows at every change of owner (`claimActors`); a step commits only with the owner's token. */
  ownerEpoch: number;
  createdAt: number;
  updatedAt: number;
}

/** A stored event waiting in (or consumed from) an actor's mailbox. */
export interface MailboxEvent {
  id: number;
  actorId: string;
  type: string;
  /** The event object as JSON. */
  event: string;
  /** When the event may be applied (timers have a future due time). */
  dueAt: number;
  /** Id of a delayed send, so `cancel(sendId)` can find it. */
  sendId: string | null;
  /** Who sent it: an actor id, `external`, `timer`, `activity:<key>`. */
  source: string;
  createdAt: number;
}

/** An event to insert into a mailbox. */
export interface NewEvent {
  actorId: string;
  type: string;
  event: string;
  dueAt: number;
  sendId?: string | null;
  source: string;
}

/** What `createActors` wrote. */
export interface CreatedActors {
  /** The actors as written, in the order given. */
  actors: ActorRecord[];
  /**
   * The ids of the events as stored, in the order given; absent when the store cannot tell (its
   * answer was lost and the write found committed afterwards): the host reads the mailbox then.
   */
  eventIds?: number[];
}

/** An event `enqueueIfActive` stored: its id, and whether it heads its actor's mailbox. */
export interface QueuedEvent {
  id: number;
  /** No other event of the actor was due at its due time when it was stored: a mailbox read would find it first. */
  first: boolean;
}

/** Status of an activity job; `held` waits for a person's decision (a risky activity, see approvals). */
export type JobStatus = 'pending' | 'held' | 'running' | 'done' | 'failed' | 'cancelled';

/** An activity execution requested by a step, keyed `actorId:seq:index`. */
export interface JobRecord {
  /** Stable idempotency key handed to the activity on every attempt. */
  key: string;
  actorId: string;
  runId: string;
  /** The invoke id; results return as `xstate.done.actor.<childId>`. */
  childId: string;
  /** The activity's name (the invoke `src`). */
  src: string;
  input: string;
  status: JobStatus;
  /** Executions started so far, across retries and crashes. */
  attempts: number;
  /** Not to be started before this time (durable back-off). */
  runAt: number;
  owner: string | null;
  output: string | null;
  error: string | null;
  /** Journal: one entry per attempt and whatever the activity recorded (usage, cost, decisions). */
  journal: string;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** A job to create. */
export interface NewJob {
  key: string;
  actorId: string;
  runId: string;
  childId: string;
  src: string;
  input: string;
  runAt: number;
  /** Created `held`: it runs only after a person approves it (medium and high risk). */
  held?: boolean;
  /**
   * The host that claims the job in the commit that creates it: it is written
   * `running`, owned by that host, as its first attempt (no separate claim).
   */
  claimedBy?: string;
}

/** An actor to create (its initial transition runs as its first step, from an `xstate.init` event). */
export interface NewActor {
  id: string;
  runId: string;
  parentId: string | null;
  childKey: string | null;
  machine: string;
  version: string;
  owner: string | null;
}

/** A refused event, kept with the reason it was refused. */
export interface DeadLetter {
  id: number;
  actorId: string;
  event: string;
  reason: string;
  /** JSON array of `{ path, message }` when a schema refused it. */
  issues: string | null;
  source: string;
  createdAt: number;
}

/** A dead letter to record. */
export type NewDeadLetter = Omit<DeadLetter, 'id' | 'createdAt'>;

/** One committed step, as the timeline and time travel read it. */
export interface HistoryRecord {
  actorId: string;
  runId: string;
  seq: number;
  eventType: string;
  event: string;
  stateValue: string;
  snapshot: string;
  status: ActorStatus;
  version: string;
  /** JSON array of emitted events, if any. */
  emitted: string | null;
  startedAt: number;
  /** Time from dequeue to commit request, in microseconds. */
  durationUs: number;
}

/**
 * Everything one step writes, committed atomically by `commitStep`. Every decision is
 * already made here (by the runtime's pure `planCommit`): the store writes these rows and
 * interprets nothing. It applies them in this order: the fenced actor update and the
 * consumption of the event, the history row, `spawn`, `cancelTimers`, `messages`,
 * `cancelJobs`, `jobs`, `approvals`, `cancelApprovals`, `stop`, `deadLetters`, `audit`.
 *
 * Conditional parts: the commit is refused with `conflict` (nothing written) when the
 * actor's seq is not `expectedSeq`, when an actor in `stop` is no longer active at its
 * `expectedSeq`, or when an approval in `cancelApprovals` is no longer pending. The plan
 * was computed from reads taken before the commit; these conditions make a commit whose
 * reads went stale fail instead of silently missing a row (the host re-plans the step).
 */
export interface StepCommit {
  actorId: string;
  /** The seq the host read; the commit is refused if the stored seq differs (fencing). */
  expectedSeq: number;
  /**
   * The committing host's ownership of the actor: the commit is refused with `fenced` (nothing
   * written) unless the actor is still owned by `owner` at `epoch` (another host took it over).
   * Absent: fenced by `expectedSeq` only (tools that write on nobody's behalf).
   */
  fence?: OwnerFence;
  /**
   * Consumed mailbox event; refused if already consumed. `null` only in a `commitBatch`
   * entry with a `completion`: the step applies that result's event, which never enters the mailbox.
   */
  eventId: number | null;
  snapshot: string;
  stateValue: string;
  status: ActorStatus;
  output: string | null;
  error: string | null;
  history: Omit<HistoryRecord, 'actorId' | 'runId' | 'seq' | 'snapshot' | 'stateValue' | 'status'>;
  messages: NewEvent[];
  /**
   * Send ids of delayed sends this actor stored earlier (mailbox rows with `source` =
   * this actor and that send id, in any mailbox) to delete before `messages` are
   * inserted, so a timer re-armed in the same step stays. Explicit: a finishing actor's
   * plan lists every one it read (`StepInputs.openWork`).
   */
  cancelTimers: string[];
  jobs: NewJob[];
  /**
   * Invoke ids of this actor whose pending, held or running jobs are cancelled (a job
   * that finished meanwhile keeps its result). Explicit: a finishing actor's plan lists
   * the invoke id of every open job it read.
   */
  cancelJobs: string[];
  /** Durable child actors spawned by this step (their init events are among `messages`). */
  spawn: NewActor[];
  /**
   * Durable actors this step stops: the children it stops and every active descendant
   * of theirs, parents first, each listed by the plan. Each becomes `stopped` with
   * seq + 1 and an `xstate.stop` history row carrying its last snapshot, and its listed
   * jobs are cancelled. The store never walks the tree itself.
   */
  stop: StopActor[];
  deadLetters: NewDeadLetter[];
  /** Approvals requested by this step for its held jobs. */
  approvals?: NewApproval[];
  /**
   * Ids of pending approvals this step cancels (their job's invoke was left, or their
   * actor finished or stopped); each becomes `cancelled` at the step's time. Their
   * `approval.cancelled` audit rows are in `audit`.
   */
  cancelApprovals?: string[];
  /** Audit rows this step appends, in order (approvals it cancelled, risk decisions it made). */
  audit?: NewAuditEntry[];
}

/** Who may commit an actor's step: its owner at the epoch it claimed it (see `ActorRecord.ownerEpoch`). */
export interface OwnerFence {
  owner: string;
  epoch: number;
}

/** An actor a step stops (see `StepCommit.stop`). */
export interface StopActor {
  id: string;
  /** The seq the plan read: the commit is refused (`conflict`) when the actor is no longer active at it. */
  expectedSeq: number;
  /** Invoke ids of its open jobs, cancelled with it. */
  cancelJobs: string[];
}

/** What stopping or finishing an actor leaves to cancel, as read for a step's plan (`HostStore.openWorkOf`). */
export interface OpenWork {
  actorId: string;
  /** Its pending, held and running jobs. */
  jobs: { key: string; childId: string; status: JobStatus }[];
  /** Its pending approvals. */
  approvals: { id: string; runId: string; childId: string; src: string; jobKey: string }[];
  /** Send ids of the delayed sends it stored that are still in a mailbox. */
  timers: string[];
}

/** How a step commit ended. */
export type CommitResult = { ok: true } | { ok: false; reason: 'conflict' | 'consumed' | 'fenced' };

/**
 * One entry of a group commit (`commitBatch`): a step, an activity's result, or a
 * result together with the step that applies it. With both, the result is journaled
 * and the step applies its event directly, provided the job is still the caller's,
 * the actor's seq is `expectedSeq` and no due event waits in its mailbox; when only
 * the step is refused, the result's event goes to the mailbox instead, so a result
 * is never lost and never applied twice.
 */
export interface BatchEntry {
  completion?: JobCompletion;
  step?: StepCommit;
  /**
   * A new actor, created by this entry with its first step (`step`: expectedSeq 0, `eventId`
   * null, the event applied without a mailbox row): the row as `createActors` writes it, then the
   * step, in one savepoint, so a run's creation and first step are one commit. An id that exists
   * already fails the entry (`failed`: nothing of it written). Only for a store that says
   * `createsWithStep`.
   */
  create?: NewActor;
}

/** How one entry of a group commit ended. */
export type BatchResult =
  | { ok: true }
  /** The step was refused (seq moved, event consumed, or, with a completion, earlier events `queued`); a completion was delivered to the mailbox. */
  | { ok: false; reason: 'conflict' | 'consumed' | 'queued' }
  /** The step's fence failed: another host owns the actor now; a completion was delivered to the mailbox. */
  | { ok: false; reason: 'fenced' }
  /** The job was no longer running (cancelled, or finished): nothing was written. */
  | { ok: false; reason: 'cancelled' }
  /** The job was taken over (another owner, or a later attempt): nothing was written. */
  | { ok: false; reason: 'refused' }
  /** The entry's rows were refused for what they contain (a constraint); nothing of it was written, the rest of the batch was. */
  | { ok: false; reason: 'failed'; error: Error };

/** The outcome of an activity attempt, with the event that delivers it. */
export interface JobCompletion {
  key: string;
  owner: string;
  /**
   * The attempt this outcome is of (the job's fencing token with `owner`): refused when the
   * job was claimed again since. Absent: fenced by owner only.
   */
  attempt?: number;
  status: 'done' | 'failed';
  output: string | null;
  error: string | null;
  journal: string;
  /**
   * When the attempt ended (default: when the store writes it). A result committed with the
   * step it causes is written after that step was planned; the job still finished first.
   */
  finishedAt?: number;
  /** The `xstate.done.actor.*` / `xstate.error.actor.*` event for the invoking actor. */
  event: NewEvent;
  /** Audit rows appended with the result (low-risk actions, refused tools, budget stops). */
  audit?: NewAuditEntry[];
}

/** A failed attempt that will be tried again at `runAt`. */
export interface JobRetry {
  key: string;
  owner: string;
  /** The attempt that failed; refused when the job was claimed again since (see `JobCompletion.attempt`). */
  attempt?: number;
  runAt: number;
  journal: string;
  audit?: NewAuditEntry[];
}

/**
 * An actor's move to another version of its machine, planned by `planVersionMove`
 * and committed by `moveActorVersion`.
 */
export interface VersionMove {
  actorId: string;
  /** The seq that was checked; the move is refused if the stored seq differs. */
  expectedSeq: number;
  from: string;
  to: string;
  /** When the move happened (the actor's `updatedAt`). */
  at: number;
  /**
   * The `spine.version.moved` step of a started actor (seq = expectedSeq + 1, the unchanged
   * snapshot), so the timeline shows it and a host holding the old seq conflicts; null for an
   * actor that has not started (its seq stays).
   */
  history: HistoryRecord | null;
  /** Audit rows appended with the move. */
  audit?: NewAuditEntry[];
}

/**
 * A job of a forked run's past, copied from its source so the fork's costs show what its
 * prefix paid for: each journal entry carries `inherited: { runId, jobKey }` (the run that
 * paid), so totals across runs count it once. It is finished (`done`, `failed`), or
 * `cancelled` for work in flight at the fork point (the fork requests that again).
 */
export type InheritedJob = Omit<JobRecord, 'owner'>;

/** A history row with its place in the global commit order (`historySince`'s cursor). */
export type HistoryRow = HistoryRecord & { rowId: number };

/** What a run amounts to: for listings and the total behind a truncated timeline. */
export interface RunStats {
  /** History rows of the run (up to `upToRowId` when given). */
  steps: number;
  /** Actors of the run, the root included. */
  actors: number;
  /** The latest change of any of its actors. */
  updatedAt: number | undefined;
}

/** An actor of a forked run, created with the state it had at the fork point (and no owner). */
export type ForkedActor = Omit<ActorRecord, 'owner' | 'ownerEpoch' | 'createdAt' | 'updatedAt'>;

/**
 * Everything a fork of a run writes, committed atomically by `forkRun`: the
 * actors at the fork point, their history up to it (copied under the new run
 * id), and the work that was pending there, requested again. A risky activity
 * is requested `held` with its approval, exactly as a step requests it: a fork
 * never runs approved work of its source without a new approval.
 */
export interface RunFork {
  sourceRunId: string;
  runId: string;
  /** The step forked from and its history row in the source run. */
  point: { actorId: string; seq: number; rowId: number };
  /** When the fork was made (created and updated times of its rows). */
  at: number;
  actors: ForkedActor[];
  history: HistoryRecord[];
  /** Init events of children not started yet, and re-created timers. */
  events: NewEvent[];
  /** Activities in flight at the point, requested again under new keys (`held` when risky). */
  jobs: NewJob[];
  /** Approvals for the held jobs. */
  approvals: NewApproval[];
  /** Finished work of the prefix, with the journals (usage and cost) it paid for, marked inherited. */
  inheritedJobs: InheritedJob[];
  /** Audit rows appended with the fork (the approvals requested, the fork itself). */
  audit: NewAuditEntry[];
  /** What could not be carried over, for the person who forked. */
  notes: string[];
}

/** One actor of a run stop: fenced by the seq that was read. */
export interface StoppedActor {
  actorId: string;
  /** The seq that was read; the whole stop is refused if the stored seq differs or the actor is no longer active. */
  expectedSeq: number;
  /** The `spine.run.cancelled` step of a started actor (seq = expectedSeq + 1); null for one not started (its seq stays). */
  history: HistoryRecord | null;
}

/**
 * Everything stopping a run writes, planned by `planRunStop` (`@spine/runtime`) and
 * committed atomically by `stopRun`: each active actor goes to `stopped` (fenced), its
 * pending, held and running jobs are cancelled, every event left in its mailbox becomes a
 * dead letter with `deadLetterReason`, the named pending approvals are cancelled, and the
 * audit rows are appended.
 */
export interface RunStop {
  runId: string;
  /** When the run was stopped (finished and decided times of the rows it changes). */
  at: number;
  actors: StoppedActor[];
  /** Pending approvals to cancel; the stop is refused if one is no longer pending (a person decided meanwhile). */
  approvals: string[];
  /** The reason on each dead letter made of an event left in a stopped actor's mailbox. */
  deadLetterReason: string;
  /** `approval.cancelled` for each approval, then `run.cancelled`. */
  audit: NewAuditEntry[];
}

/** Filters for listing actors. */
export interface ActorQuery {
  rootsOnly?: boolean;
  runId?: string;
  status?: ActorStatus[];
  limit?: number;
  /**
   * A page cursor: only actors after this one in listing order (newest first: `createdAt`
   * descending, then `id` ascending). Pass the last actor of the previous page.
   */
  after?: { createdAt: number; id: string };
  /**
   * `false`: the records carry `snapshot: null`, for a listing that shows no state (`spine runs`);
   * a store may keep a finished actor's snapshot where reading it costs a decode. Default true.
   */
  snapshots?: boolean;
}

/** What a host uses to drive actors: create them, read and consume their mailboxes, commit steps, run jobs, own work and stay alive. */
export interface HostStore {
  /**
   * How many statements the store runs at once (a PostgreSQL pool's connections); hosts size
   * their concurrent drains by it. Undefined: one writer at a time (SQLite).
   */
  readonly connections?: number;
  /** Machine definitions by content version; inserting an existing version is a no-op. */
  saveMachineVersion(machine: string, version: string, definition: string): Promise<void>;
  getMachineVersion(machine: string, version: string): Promise<string | undefined>;
  /**
   * Creates actors and their first events in one transaction; returns the actors as written
   * (`createdActor` of each, with the store's creation time) and the events' ids, so the host
   * that creates a run can step it without reading it (or its mailbox) back.
   */
  createActors(actors: NewActor[], events: NewEvent[]): Promise<CreatedActors>;
  /**
   * An actor's record. `snapshot: false`: the record carries `snapshot: null`, for a caller that
   * needs its status, output or seq only (`waitForRun`); a store may keep a finished actor's
   * snapshot where reading it costs a decode (as `ActorQuery.snapshots`). Default true.
   */
  getActor(id: string, options?: { snapshot?: boolean }): Promise<ActorRecord | undefined>;
  /** Active durable children of an actor, by child key, with the seq each has now (a stop is fenced by it). */
  childrenOf(parentId: string): Promise<{ id: string; childKey: string; machine: string; seq: number }[]>;
  /** The open work of each actor named (one entry per id, in that order; empty lists for an unknown id). */
  openWorkOf(actorIds: string[]): Promise<OpenWork[]>;
  /** Appends events to mailboxes in one transaction; returns their ids. */
  enqueue(events: NewEvent[]): Promise<number[]>;
  /**
   * Appends one event to its actor's mailbox only while the actor is active, checked in the same
   * statement; returns its id and whether it heads the mailbox (no other event of the actor was
   * due at its due time when it was stored: a mailbox read would find it first), or undefined
   * (nothing stored) when the actor is missing or no longer active. Optional: `send` reads the
   * actor first without it.
   */
  enqueueIfActive?(event: NewEvent): Promise<QueuedEvent | undefined>;
  /** The oldest due, unconsumed events of an actor, in mailbox order. */
  nextEvents(actorId: string, now: number, limit: number): Promise<MailboxEvent[]>;
  /** Marks an event consumed without a step (the actor had already finished). */
  discardEvent(eventId: number, deadLetter: NewDeadLetter): Promise<void>;
  /** Commits one step atomically (see StepCommit). */
  commitStep(step: StepCommit): Promise<CommitResult>;
  /**
   * Group commit: every entry in one transaction (one fsync), each entry atomic on its
   * own (a savepoint), so a refused entry leaves the others committed. Results are in
   * entry order. Throws, writing nothing, only for errors of the transaction itself
   * (I/O, a lock). Optional: without it the host commits entry by entry.
   */
  commitBatch?(entries: BatchEntry[]): Promise<BatchResult[]>;
  /** True when `commitBatch` takes `create` entries (an actor written with its first step); else runs start with `createActors`. */
  readonly createsWithStep?: boolean;
  recordDeadLetters(letters: NewDeadLetter[]): Promise<void>;
  /**
   * Claims a pending (due) job, or a running one whose owner is in `deadOwners` or whose owner's
   * lease expired (by the store's clock); bumps attempts, the job's fencing token with its owner.
   */
  claimJob(key: string, owner: string, now: number, deadOwners: string[]): Promise<JobRecord | undefined>;
  /**
   * Journals an attempt's outcome and delivers its event, unless the job was cancelled
   * meanwhile or is no longer this owner's attempt (false: nothing written).
   */
  completeJob(completion: JobCompletion): Promise<boolean>;
  /** Puts a failed attempt back to pending until `runAt` (durable back-off); fenced as `completeJob`. */
  retryJob(retry: JobRetry): Promise<boolean>;
  getJob(key: string): Promise<JobRecord | undefined>;
  listJobs(query: { runId?: string; actorId?: string; status?: JobStatus[] }): Promise<JobRecord[]>;
  /** Actors with due events or runnable jobs that `owner` may drive (unowned, own, dead owners, or owners whose lease expired). */
  runnable(now: number, owner: string, deadOwners: string[], limit: number): Promise<{ actors: string[]; jobs: { key: string; actorId: string }[] }>;
  /** The earliest future due time of a timer or a job back-off, if any. */
  nextWakeAt(now: number): Promise<number | undefined>;
  /**
   * Claims actors for a host; only unowned ones, ones held by `deadOwners`, or ones whose owner's
   * lease expired (by the store's clock; `now` on a store without one) change hands, and each
   * change of hands grows the actor's `ownerEpoch`. Returns the ids the host now owns.
   * `limit`: at most that many change hands, the first in `ids` order (those it holds already do not count).
   */
  claimActors(ids: string[], owner: string, deadOwners: string[], now?: number, limit?: number): Promise<string[]>;
  /** Releases everything a host holds (clean shutdown). */
  releaseOwner(owner: string): Promise<void>;
  /**
   * Registers a host or renews its lease to `leaseMs` from now, by the store's clock (the
   * database's on PostgreSQL, so hosts with skewed clocks agree; `host.heartbeatAt` on SQLite).
   * `expired`: the lease had run out before this renewal, so other hosts may have taken over
   * its actors and jobs (their fences refuse its commits). `found`: the host's row existed before
   * this renewal; a host that had registered and finds its row gone (removed by an operator, a
   * restored backup) has lost its work just the same, since an owner with no row is anyone's to
   * take. Returns the hosts seen.
   */
  heartbeat(host: HostRecord, leaseMs?: number): Promise<{ hosts: HostRecord[]; expired: boolean; found: boolean }>;
  removeHost(id: string): Promise<void>;
  /** Waiting work of a run: for deciding whether it is idle. */
  runActivity(runId: string, now: number): Promise<{ dueEvents: number; activeJobs: number; nextWakeAt: number | undefined }>;
  /** Whether a high-risk approval holds the run: none of its actors steps and none of its jobs starts. */
  isRunHalted(runId: string): Promise<boolean>;
  /**
   * Optional prompt wake-up between hosts on one database, so that work written by one process
   * (an event for an actor another host owns) is picked up at once rather than at the next poll:
   * `wakeHosts` tells every host that listens, `onWake` listens and returns a function that stops
   * listening. A store without them leaves hosts to find the work by polling.
   */
  wakeHosts?(): void;
  onWake?(listener: () => void): () => void;
  close(): Promise<void>;
}

/** What the studio, the CLI and time travel read: actors, steps, journals, dead letters, machine versions. */
export interface HistoryReader {
  listMachineVersions(machine?: string): Promise<{ machine: string; version: string; createdAt: number }[]>;
  listActors(query?: ActorQuery): Promise<ActorRecord[]>;
  listDeadLetters(actorId?: string): Promise<DeadLetter[]>;
  history(actorId: string, options?: { fromSeq?: number; limit?: number }): Promise<HistoryRecord[]>;
  /**
   * History of every actor of a run, in commit order. With `upToRowId`, only rows
   * committed up to that one; with `limit`, only the latest `limit` of those
   * (still oldest first). With `afterRowId` (a page cursor: the last row of the
   * previous page, 0 for the first page), only rows committed after it, and
   * `limit` takes the first `limit` of those instead.
   */
  runHistory(runId: string, options?: { upToRowId?: number; limit?: number; afterRowId?: number }): Promise<HistoryRow[]>;
  /** One committed step of an actor. */
  historyRow(actorId: string, seq: number): Promise<HistoryRow | undefined>;
  /** The newest history row id (0 when there is none): a live tail starts after it. */
  historyHead(): Promise<number>;
  /** A change cursor: history rows committed after `afterRowId`, for live inspection. */
  historySince(afterRowId: number, limit: number): Promise<HistoryRow[]>;
  /** Counts of a run (steps up to `upToRowId` when given) and its latest change. */
  runStats(runId: string, options?: { upToRowId?: number }): Promise<RunStats>;
  /** The journals of a run's jobs that have any entry (usage and cost live there). */
  runJournals(runId: string): Promise<{ key: string; actorId: string; src: string; journal: string }[]>;
}

/** Run control by people and tools: stop, fork, retry now, move to another version. Each is one transaction. */
export interface RunControlStore {
  /**
   * Writes a planned version move (see VersionMove) in one transaction: the actor's
   * version, and for a started actor its `spine.version.moved` step. False (nothing
   * written) if the seq moved meanwhile, the actor is no longer active, or its version
   * is no longer `from`.
   */
  moveActorVersion(move: VersionMove): Promise<boolean>;
  /**
   * Writes a planned fork (see RunFork) in one transaction. Refused with a
   * `conflict` SpineError when an actor with one of its ids exists already.
   */
  forkRun(fork: RunFork): Promise<void>;
  /**
   * Writes a planned run stop (see RunStop) in one transaction. False, with nothing
   * written, when any actor's seq moved or it is no longer active, or any approval is
   * no longer pending: the caller reads and plans again.
   */
  stopRun(stop: RunStop): Promise<boolean>;
  /** Moves a pending job's next attempt to `runAt` (retry now); false unless it was pending. */
  rescheduleJob(key: string, runAt: number): Promise<boolean>;
}

/** Risky work waiting for people: approvals, their deadlines and signed decisions. */
export interface ApprovalStore {
  /** Approvals, newest first; `pending` ones are listed only while their actor is active. */
  listApprovals(query?: ApprovalQuery): Promise<ApprovalRecord[]>;
  getApproval(id: string): Promise<ApprovalRecord | undefined>;
  /** Pending approvals whose deadline has passed and that were not escalated yet. */
  dueApprovals(now: number, limit: number): Promise<ApprovalRecord[]>;
  /** Stores a signed decision for a host to verify and apply; returns its id. */
  submitDecision(decision: NewDecision): Promise<number>;
  /** Decisions submitted and not yet applied or refused, oldest first. */
  pendingDecisions(limit: number): Promise<DecisionRecord[]>;
  /**
   * Applies (or refuses) a decision in one transaction: the approval's new status,
   * the held job released or failed with its event delivered, the decision row
   * marked, the audit rows appended. False when the approval was no longer open
   * (nothing changed then, except a refused decision row and its audit rows).
   */
  resolveApproval(resolution: ApprovalResolution): Promise<boolean>;
}

/** The append-only, hash-chained audit log. */
export interface AuditStore {
  /** Appends rows to the audit log (hash-chained). There is no way to change or delete them. */
  appendAudit(entries: NewAuditEntry[]): Promise<void>;
  listAudit(query?: AuditQuery): Promise<AuditEntry[]>;
  /** Recomputes the hash chain; reports the first row that does not match. */
  verifyAudit(): Promise<AuditVerification>;
}

/**
 * The storage contract, implemented by SqliteStore and PostgresStore (`@spine/store-postgres`):
 * the union of its roles. A store only writes the rows it is given: every decision
 * (what to stop, cancel, audit) arrives already made in the commit. `runStoreContract`
 * (`@spine/runtime/testing`) is its executable spec, one file per role.
 */
export interface Store extends HostStore, HistoryReader, RunControlStore, ApprovalStore, AuditStore {}

/** A running host, for liveness: same hostname and a dead pid, or an expired lease, means dead. */
export interface HostRecord {
  id: string;
  hostname: string;
  pid: number;
  startedAt: number;
  heartbeatAt: number;
  /** Until when its lease holds (the store's clock); read only, set by `heartbeat`. */
  leaseUntil?: number;
}

/** How much a person must be involved before an activity runs (machine `meta.risk`). */
export type RiskTier = 'low' | 'medium' | 'high';

/** Lifecycle of an approval. `pending` ones may be escalated (`escalatedAt`) and stay open. */
export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'cancelled';

/** What happens when an approval's deadline passes. */
export type DeadlineAction = 'escalate' | 'halt';

/** A person's go-ahead requested for a held job: what the agent proposes and why. */
export interface ApprovalRecord {
  /** `approval:<jobKey>`. */
  id: string;
  runId: string;
  actorId: string;
  jobKey: string;
  /** The invoke id; a rejection arrives as `xstate.error.actor.<childId>`. */
  childId: string;
  /** The activity. */
  src: string;
  machine: string;
  version: string;
  /** The step that requested the work. */
  seq: number;
  tier: Exclude<RiskTier, 'low'>;
  status: ApprovalStatus;
  /** JSON: the activity input the agent proposes. */
  proposal: string;
  /** JSON: why (state, event, reasoning the agent recorded, its last journal entry). */
  rationale: string;
  requestedAt: number;
  deadlineAt: number | null;
  onDeadline: DeadlineAction;
  escalatedAt: number | null;
  decidedBy: string | null;
  decidedAt: number | null;
  /** Why it was rejected (or a note with the approval). */
  reason: string | null;
  /** JSON of the input a person substituted before approving. */
  editedInput: string | null;
  /** HMAC of the decision that resolved it. */
  signature: string | null;
}

/** An approval to create with the step that requests it. */
export type NewApproval = Omit<ApprovalRecord, 'status' | 'escalatedAt' | 'decidedBy' | 'decidedAt' | 'reason' | 'editedInput' | 'signature'>;

/** Filters for listing approvals. */
export interface ApprovalQuery {
  runId?: string;
  status?: ApprovalStatus[];
  limit?: number;
}

/** A signed decision as submitted: `payload` is canonical JSON, `signature` its HMAC-SHA256 (hex). */
export interface NewDecision {
  approvalId: string;
  payload: string;
  signature: string;
}

/** A stored decision. */
export interface DecisionRecord extends NewDecision {
  id: number;
  status: 'submitted' | 'applied' | 'refused';
  createdAt: number;
}

/** Everything that resolving (or refusing to resolve) an approval writes, atomically. */
export interface ApprovalResolution {
  approvalId: string;
  /** `refused` marks only the decision refused (a bad signature); `escalated` keeps the approval open. */
  outcome: 'approved' | 'rejected' | 'expired' | 'escalated' | 'refused';
  /** The decision applied or refused, if a person's decision caused this. */
  decisionId?: number;
  decidedBy?: string;
  decidedAt?: number;
  reason?: string | null;
  editedInput?: string | null;
  signature?: string | null;
  /** Approved: the held job becomes pending with this input. */
  jobInput?: string;
  /** Rejected or expired: the held job fails with this error and this event is delivered. */
  jobError?: string;
  /** An event for the actor (the rejection or `spine.approval.escalated`). */
  event?: NewEvent;
  audit: NewAuditEntry[];
  now: number;
}

/** What an audit row records. */
export type AuditKind =
  | 'approval.requested'
  | 'approval.approved'
  | 'approval.edited'
  | 'approval.rejected'
  | 'approval.escalated'
  | 'approval.expired'
  | 'approval.cancelled'
  | 'decision.refused'
  | 'run.halted'
  | 'run.forked'
  | 'run.cancelled'
  | 'activity.logged'
  | 'tool.refused'
  | 'budget.stopped'
  | 'model.unpriced'
  | 'machine.version'
  | 'actor.version_moved'
  /** A host's step commit was refused: another host owns the actor now. */
  | 'host.fenced'
  /** A host's activity result (or retry) was refused: the job was taken over. */
  | 'job.result_refused';

/** One row of the append-only, hash-chained audit log. */
export interface AuditEntry {
  seq: number;
  at: number;
  runId: string | null;
  actorId: string | null;
  kind: AuditKind;
  /** Who: a person (`--as`), `system` (deadlines, cancellations) or the agent/host that acted. */
  who: string;
  /** What it is about: an approval id, a job key, `machine@version`. */
  subject: string | null;
  /** JSON details. */
  detail: string;
  /** Hash of the previous row (64 zeros for the first). */
  prevHash: string;
  /** sha256 over `prevHash` and this row's canonical JSON (see `auditHash`). */
  hash: string;
}

/** An audit row to append; the store assigns seq and hashes. */
export type NewAuditEntry = Pick<AuditEntry, 'runId' | 'actorId' | 'kind' | 'who' | 'subject' | 'detail'> & { at: number };

/** Filters for reading the audit log. */
export interface AuditQuery {
  runId?: string;
  afterSeq?: number;
  limit?: number;
}

/** The result of recomputing the audit chain. */
export type AuditVerification =
  | { ok: true; rows: number; head: string }
  | { ok: false; rows: number; firstBadSeq: number; reason: string };
