import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import { ensureError } from '../errors.js';
import type { HostRecord, HostStore } from '../Store.js';
import { runOf } from '../step/jobKey.js';

/** What the scheduler drives. */
export interface SchedulerHost {
  store: HostStore;
  clock: Clock;
  hostId: string;
  /** The machine name this host registers under (default `os.hostname()`): hosts of the same name whose pid is gone are dead without waiting for their lease. */
  hostname?: string;
  pollIntervalMs: number;
  /**
   * Whether writes of other processes wake this host (the store offers `onWake`). Then the poll
   * is the fallback only: each poll that finds no work doubles the wait before the next, up to
   * ten poll intervals (at most a third of the lease); a wake or a poll that finds work brings it
   * back to `pollIntervalMs`.
   */
  wakeable?: boolean;
  /** How often the lease is renewed (about a third of `leaseMs`). */
  heartbeatMs: number;
  /** How long the lease runs from each renewal; other hosts take over only after it ran out. */
  leaseMs: number;
  onError(error: Error, where: string): void;
  /** The lease had run out before a renewal: other hosts may have taken this host's work (their fences refuse its commits). */
  leaseExpired(): void;
  /** Applies one actor's delivered results, then its mailbox as `mailbox` says (see `MailboxWork`). */
  drain(actorId: string, mailbox: MailboxWork): Promise<void>;
  /**
   * Most runs drained at once, whose steps share group commits (default: `DRAINS_PER_CONNECTION`
   * per connection of a store that says how many it has, else 256). It also bounds what a scan
   * claims: a host takes no more new actors than it has drains free, and leaves the rest to other hosts.
   */
  maxConcurrentRuns?: number;
  /** Starts an activity job in this host. */
  startJob(key: string): void;
  /** A drain of one of the run's actors ended (whoever waits for the run looks again). */
  drained?(runId: string): void;
  /** Work outside the mailboxes that each scan looks at first (people's decisions, deadlines). */
  beforeScan(): Promise<void>;
}

/**
 * What a ready actor's drain reads after its delivered results: `true` every due event of its
 * mailbox; `'primed'` only the event its host primed it with (or the mailbox when none is held);
 * `false` nothing (only a delivered result waits, unless it has to wait in the mailbox).
 */
export type MailboxWork = boolean | 'primed';

/** The longest the host keeps the event loop from turning (see `Scheduler.turnDue`). */
const TURN_MS = 20;

/**
 * The host's loop: a set of actors ready to step; a poll that finds work other
 * processes wrote (due events and timers, claimable jobs); a heartbeat that renews
 * this host's lease (the store decides which leases expired); a timer armed for the
 * next due time. It decides when, never what: each step is the step runner's.
 *
 * Actors of one run are drained one at a time, in kick order, as a single-threaded
 * host would; different runs are drained concurrently (up to `maxConcurrentRuns`), so
 * the steps they commit at the same moment share one group commit.
 */
export class Scheduler {
  readonly #host: SchedulerHost;
  readonly #maxRuns: number;
  /** Ready actors and what their drain reads. */
  readonly #ready = new Map<string, MailboxWork>();
  /** Runs (by root id) with a drain in progress. */
  readonly #draining = new Set<string>();
  readonly #settleWaiters = new Set<() => void>();
  #deadOwners: string[] = [];
  #pumping: Promise<void> | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  /** The wait before the next poll (see `wakeable`). */
  #pollDelay: number;
  /** The longest wait between polls of a wakeable host. */
  readonly #longestPoll: number;
  /** Whether the last scan found work (due events, claimable jobs), this host's or others'. */
  #found = false;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #waking: Promise<void> | undefined;
  #wakeAgain = false;
  /** Scans started by `wake()` (another process's notification) rather than by a timer. */
  woken = 0;
  #wakeTimer: NodeJS.Timeout | undefined;
  /** Fires when the next other host's lease runs out (see `#armLeaseTimer`). */
  #leaseTimer: NodeJS.Timeout | undefined;
  #wakeAt = Infinity;
  #lastHeartbeat = 0;
  /** When the latest scan began (this host's clock): a lease that ended before it was seen ended by that scan. */
  #lastScanAt = -Infinity;
  #renewing: Promise<void> | undefined;
  #registered = false;
  /** Between `start()` and its first renewal: kicked actors wait, so nothing is claimed before the host's row exists. */
  #starting = false;
  #stopping = false;
  #paused = false;
  /** The last scan left due work unclaimed for want of free drains: the pump scans again when its drains are done. */
  #leftOver = false;
  /** Scans under way (a poll's, a wake's, a poke's): `stop()` waits for them, so none claims an actor after the host released its ownership. */
  readonly #scans = new Set<Promise<void>>();
  /** When the event loop was last seen to turn (a macrotask ran), and whether a sentinel waits for the next turn. */
  #turnSeenAt = performance.now();
  #watchingTurns = false;
  readonly #turned = (): void => {
    this.#watchingTurns = false;
    this.#turnSeenAt = performance.now();
  };

  constructor(host: SchedulerHost) {
    this.#host = host;
    const connections = host.store.connections;
    this.#maxRuns = host.maxConcurrentRuns ?? (connections ? DRAINS_PER_CONNECTION * connections : 256);
    this.#pollDelay = host.pollIntervalMs;
    this.#longestPoll = Math.max(host.pollIntervalMs, Math.min(10 * host.pollIntervalMs, Math.floor(host.leaseMs / 3)));
  }

  /**
   * Hosts known dead without waiting for their lease: same hostname, dead pid. Hosts whose
   * lease expired are the store's to judge (by its clock), at each claim.
   */
  get deadOwners(): string[] {
    return this.#deadOwners;
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /**
   * Whether this host's `hosts` row has been written (its first lease renewal returned). Only then
   * may it own actors: an owner with no row is taken over by any other host at once.
   */
  get registered(): boolean {
    return this.#registered;
  }

  /** Paused for a drain: no polls, wakes or mailbox kicks; heartbeats go on and delivered results are applied. */
  get paused(): boolean {
    return this.#paused;
  }

  /** The drain in progress, if any. */
  get pumping(): Promise<void> | undefined {
    return this.#pumping;
  }

  /** Drains running now (one per run at most). */
  get drainsInProgress(): number {
    return this.#draining.size;
  }

  /** Whether actors wait to be drained. */
  get hasReady(): boolean {
    return this.#ready.size > 0;
  }

  /**
   * Whether an actor of the run is being drained here, or waits to be. Past 32 ready actors it
   * says yes without looking further (the answer is asked at every drain's end: a busy host
   * would look through all of them each time), which only makes whoever asks wait a little longer.
   */
  runBusy(runId: string): boolean {
    if (this.#draining.has(runId) || this.#ready.has(runId)) return true;
    if (this.#ready.size > 32) return true;
    for (const actorId of this.#ready.keys()) if (runOf(actorId) === runId) return true;
    return false;
  }

  /** Heartbeats (so the host's row exists before it claims anything), scans once, then polls. */
  async start(): Promise<void> {
    this.#starting = true;
    try {
      await this.heartbeat();
    } finally {
      this.#starting = false;
    }
    if (this.#ready.size) this.#pump(); // kicked while the row was being written (a run started meanwhile)
    await this.scan();
    this.#armPoll();
    // Alive for other hosts however long the poll interval (a host woken by notifications may poll rarely).
    this.#heartbeatTimer = setInterval(() => void this.heartbeat().catch((error: unknown) => this.#host.onError(ensureError(error), 'heartbeat')), this.#host.heartbeatMs);
    this.#heartbeatTimer.unref?.();
  }

  /** Scans now instead of at the next poll (another process wrote work for this host); wakes during a scan coalesce into one more. */
  wake(): void {
    if (this.#stopping || this.#paused) return;
    if (this.#waking) {
      this.#wakeAgain = true;
      return;
    }
    this.woken++;
    if (this.#pollDelay !== this.#host.pollIntervalMs) {
      // Others write for this host again: their next writes may not all wake it.
      this.#pollDelay = this.#host.pollIntervalMs;
      this.#armPoll();
    }
    this.#waking = this.tick().finally(() => {
      this.#waking = undefined;
      if (this.#wakeAgain) {
        this.#wakeAgain = false;
        this.wake();
      }
    });
  }

  /** Stops taking new work (a drain): no more polls, wakes or mailbox kicks; the lease is still renewed. */
  pause(): void {
    this.#paused = true;
    if (this.#pollTimer) clearTimeout(this.#pollTimer);
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    if (this.#leaseTimer) clearTimeout(this.#leaseTimer);
  }

  /**
   * Stops polling and waits for what is under way: the drain, the scans and the lease renewal.
   * The host releases its ownership and removes its row after this: a scan that claimed an actor
   * later would leave it owned by a host with no row, which no other host could ever take over.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#pollTimer) clearTimeout(this.#pollTimer);
    if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer);
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    if (this.#leaseTimer) clearTimeout(this.#leaseTimer);
    while (this.#pumping || this.#scans.size || this.#renewing) await Promise.allSettled([this.#pumping, ...this.#scans, this.#renewing]);
  }

  /**
   * Marks an actor's mailbox ready and drains ready actors until none is left. `primed`: the only
   * new event is the one the host primed the actor with (see `StepRunner.primeEvent`), which its
   * drain steps without reading the mailbox; any other kick before the drain takes the actor
   * makes it read the whole mailbox after that event.
   */
  kick(actorId: string, primed = false): void {
    if (this.#stopping || this.#paused) return;
    this.#ready.set(actorId, primed && this.#ready.get(actorId) !== true ? 'primed' : true);
    this.#pump();
  }

  /** Marks an actor ready for a delivered activity result only (its mailbox is not read unless the result must wait there). */
  kickResult(actorId: string): void {
    if (this.#stopping) return;
    if (!this.#ready.has(actorId)) this.#ready.set(actorId, false);
    this.#pump();
  }

  #pump(): void {
    if (this.#starting) return;
    this.#pumping ??= this.#drainAll().finally(() => {
      this.#pumping = undefined;
      this.settled();
      if (this.#ready.size && !this.#stopping) this.#pump();
    });
  }

  async #drainAll(): Promise<void> {
    // Kicks of the same turn are gathered first (and the event loop let turn if it has not lately).
    await (this.turnDue() ?? Promise.resolve());
    let running = 0;
    /** Wakes the loop when a drain ends (one waiter at a time: no reaction piles up on long drains, as `Promise.race` would). */
    let ended: (() => void) | undefined;
    const oneEnded = () => new Promise<void>((resolve) => (ended = resolve));
    while (!this.#stopping) {
      // Every drain of this pass is counted before the first starts: a drain may reach its commit
      // without waiting a turn, and the group commit waits for an entry from each drain under way.
      const starting: [actorId: string, mailbox: MailboxWork, run: string][] = [];
      for (const [actorId, mailbox] of this.#ready) {
        if (running + starting.length >= this.#maxRuns) break;
        const run = runOf(actorId);
        if (this.#draining.has(run)) continue;
        this.#ready.delete(actorId);
        this.#draining.add(run);
        starting.push([actorId, mailbox, run]);
      }
      for (const [actorId, mailbox, run] of starting) {
        running++;
        const end = () => {
          this.#draining.delete(run);
          running--;
          this.#host.drained?.(run);
          ended?.();
        };
        void this.#host.drain(actorId, mailbox).then(end, (error: unknown) => {
          try {
            this.#host.onError(ensureError(error), `actor ${actorId}`);
          } finally {
            end();
          }
        });
      }
      if (!running) {
        // Due work the last scan had no room for: claim the next share before the pump (and `idle()`) ends.
        if (!this.#leftOver || this.#paused) return;
        this.#leftOver = false;
        await this.tick();
        if (!this.#ready.size) return;
        continue;
      }
      await oneEnded();
      const turn = this.turnDue();
      if (turn) await turn;
    }
    while (running) await oneEnded();
  }

  /**
   * Undefined while the event loop turned within the last `TURN_MS`; otherwise a promise that
   * resolves once it has turned. Steps whose reads, commits and activities all settle in
   * microtasks (SQLite is synchronous; an activity that awaits no I/O resolves at once) never let
   * the loop turn on their own: a run after run measured 2.2 s with not one timer fired, so the
   * lease went unrenewed, timeouts and deadlines did not fire and servers in the process stopped
   * answering. A sentinel `setImmediate` notes each turn; when none was seen lately, the drains
   * wait for one (a turn every 20 ms: about a hundred steps between two), as does a drain between
   * the events of a long mailbox.
   */
  turnDue(): Promise<void> | undefined {
    if (performance.now() - this.#turnSeenAt <= TURN_MS) {
      if (!this.#watchingTurns) {
        this.#watchingTurns = true;
        setImmediate(this.#turned);
      }
      return undefined;
    }
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        this.#turned();
        resolve();
      }),
    );
  }

  /** Arms the next poll; a wakeable host that found nothing waits longer each time (see `wakeable`). */
  #armPoll(): void {
    if (this.#pollTimer) clearTimeout(this.#pollTimer);
    if (this.#stopping || this.#paused) return;
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = undefined;
      void this.tick().finally(() => {
        const idle = this.#host.wakeable && !this.#found && !this.#pumping && !this.#draining.size && !this.#ready.size;
        this.#pollDelay = idle ? Math.min(2 * this.#pollDelay, this.#longestPoll) : this.#host.pollIntervalMs;
        if (!this.#pollTimer) this.#armPoll(); // a wake may have armed it meanwhile
      });
    }, this.#pollDelay);
    this.#pollTimer.unref?.();
  }

  /** One poll: a heartbeat when due, then a scan. */
  async tick(): Promise<void> {
    // A stopping host renews nothing: its row is removed once it stops (a wake timer armed after stop cleared it may still fire).
    if (this.#stopping) return;
    try {
      if (this.#host.clock.now() - this.#lastHeartbeat >= this.#host.heartbeatMs) await this.heartbeat();
      await this.scan();
    } catch (error) {
      this.#host.onError(ensureError(error), 'poll');
    }
  }

  /**
   * Renews this host's lease; notes hosts of this machine whose process is gone (dead at once,
   * without waiting for their lease). A renewal asked for while one is in flight joins it
   * (the timer's and a poll's never queue behind each other on the lease's connection).
   */
  heartbeat(): Promise<void> {
    this.#renewing ??= this.#renew().finally(() => (this.#renewing = undefined));
    return this.#renewing;
  }

  async #renew(): Promise<void> {
    const now = this.#host.clock.now();
    this.#lastHeartbeat = now;
    const me = this.#host.hostname ?? hostname();
    const { hosts, expired, found } = await this.#host.store.heartbeat({ id: this.#host.hostId, hostname: me, pid: process.pid, startedAt: now, heartbeatAt: now }, this.#host.leaseMs);
    // A row gone since this host registered loses its work as an expired lease does (an owner with no row is anyone's to take).
    const lost = expired || (this.#registered && !found);
    this.#registered = true;
    if (lost) this.#host.leaseExpired();
    const dead = hosts.filter((h) => h.id !== this.#host.hostId && h.hostname === me && !pidAlive(h.pid)).map((h) => h.id);
    const newlyDead = dead.some((id) => !this.#deadOwners.includes(id));
    this.#deadOwners = dead;
    // A host of this machine whose process is gone: its actors are looked for now, not at the next poll.
    if (newlyDead) this.#armWake(now);
    this.#armLeaseTimer(this.#nextLeaseEnd(hosts, this.#host.clock.now()));
  }

  /**
   * When the next other host's lease runs out that no scan has looked past yet, on this host's
   * clock (the store judges leases by its own clock, read here through this host's own renewal
   * answered at `answeredAt`); undefined when none. The store read its clock before the answer
   * came, so the estimate errs late, never early: the scan it arms finds the lease ended. An end
   * already past but not yet scanned for (a renewal that came before its timer fired) is kept.
   */
  #nextLeaseEnd(hosts: HostRecord[], answeredAt: number): number | undefined {
    const mine = hosts.find((h) => h.id === this.#host.hostId)?.leaseUntil;
    if (mine === undefined) return undefined;
    const skew = mine - this.#host.leaseMs - answeredAt; // the store's clock minus this host's, at most
    const ends = hosts.flatMap((h) => (h.id !== this.#host.hostId && h.leaseUntil !== undefined ? [h.leaseUntil - skew + LEASE_END_MARGIN_MS] : []));
    const next = Math.min(...ends.filter((at) => at > this.#lastScanAt));
    return Number.isFinite(next) ? next : undefined;
  }

  /**
   * Scans at `at` (re-armed at each renewal): a host that stopped renewing loses its actors when
   * its lease ends, not at some later poll. Hosts that renew move their lease end before it
   * comes (each renews every third of its lease), so the timer fires only for one that did not.
   */
  #armLeaseTimer(at: number | undefined): void {
    if (this.#leaseTimer) clearTimeout(this.#leaseTimer);
    this.#leaseTimer = undefined;
    if (at === undefined || this.#stopping || this.#paused) return;
    this.#leaseTimer = setTimeout(() => {
      this.#leaseTimer = undefined;
      void this.tick();
    }, Math.min(Math.max(0, at - this.#host.clock.now()), 2 ** 31 - 1));
    this.#leaseTimer.unref?.();
  }

  /** Finds due work (from any process), claims it, and arms the wake timer. */
  scan(): Promise<void> {
    if (this.#stopping || this.#paused) return Promise.resolve();
    const scan = this.#scan().finally(() => this.#scans.delete(scan));
    this.#scans.add(scan);
    return scan;
  }

  async #scan(): Promise<void> {
    this.#lastScanAt = this.#host.clock.now();
    try {
      await this.#host.beforeScan();
    } catch (error) {
      this.#host.onError(ensureError(error), 'approvals');
    }
    const { store, clock, hostId } = this.#host;
    const now = clock.now();
    const { actors, jobs } = await store.runnable(now, hostId, this.#deadOwners, 10_000);
    if (this.#stopping) return; // it claims nothing it would have to release again
    const wanted = new Set([...actors, ...jobs.map((j) => j.actorId)]);
    this.#found = wanted.size > 0;
    // Its own actors always; new ones only as many as it has drains free, and on a pooled store
    // at most one per connection per scan, so hosts polling at the same time share the new work.
    const room = Math.min(store.connections ?? Infinity, Math.max(0, this.#maxRuns - this.#draining.size - this.#ready.size));
    const mine = new Set(await store.claimActors([...wanted], hostId, this.#deadOwners, now, room));
    if (mine.size < wanted.size && mine.size >= room) this.#leftOver = true;
    for (const id of actors) if (mine.has(id)) this.kick(id);
    for (const job of jobs) if (mine.has(job.actorId)) this.#host.startJob(job.key);
    await this.scheduleWake();
  }

  /** Arms the timer for the store's next due time, if it is earlier than the one armed. */
  async scheduleWake(): Promise<void> {
    const { store, clock } = this.#host;
    const next = await store.nextWakeAt(clock.now());
    if (next !== undefined) this.#armWake(next);
  }

  /** Arms the wake timer for `at`, unless it is armed for earlier already. */
  #armWake(next: number): void {
    const { clock } = this.#host;
    if (this.#stopping || next >= this.#wakeAt) return;
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    this.#wakeAt = next;
    const delay = Math.max(0, next - clock.now());
    this.#wakeTimer = setTimeout(() => {
      this.#wakeAt = Infinity;
      this.#wakeTimer = undefined;
      if (!this.#paused) void this.tick();
    }, Math.min(delay, 2 ** 31 - 1));
    this.#wakeTimer.unref?.();
  }

  /** Resolves at the next settle (a drain ended, a job settled) or after `ms`. */
  nextSettle(ms: number, also?: Promise<unknown>): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const waiters = this.#settleWaiters;
      function done() {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
      void also?.then(done, done);
    });
  }

  /** Wakes whoever waits in `nextSettle`. */
  settled(): void {
    if (!this.#settleWaiters.size) return;
    for (const waiter of [...this.#settleWaiters]) waiter();
  }
}

/**
 * Runs drained at once per connection of the store (a PostgreSQL pool's size): enough to keep
 * every connection busy while other drains plan their steps or wait for their group commit, few
 * enough that calls do not queue for a connection longer than a step takes.
 */
export const DRAINS_PER_CONNECTION = 8;

/** How long after another host's lease ends a host looks for its actors (the store judges expiry by its own clock). */
const LEASE_END_MARGIN_MS = 20;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
