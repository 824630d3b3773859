import type { ApprovalJson, CostPoint, DecisionJson, ErrorJson, ForkResult, MachineJson, PartialJson, RetryResult, RunDetail, RunSummary, ServerMessage } from '@spine/server/protocol';
import { addEvents, emptyTimeline, withDetail, type RunTimeline } from './RunTimeline.js';
import { CommandError, SpineConnection, type ConnectionStatus } from './SpineConnection.js';
import { createUiStore, hashOf, routeFromHash, type Route, type UiStore } from './uiStore.js';

/** Everything the studio knows, as one immutable value React renders. */
export interface StudioState {
  connection: ConnectionStatus;
  /** Whether the server has a runtime (can start runs and deliver events). */
  runtime: boolean;
  runs: Record<string, RunSummary>;
  runsLoaded: boolean;
  machines: Record<string, MachineJson>;
  /** The open run, when the route is a run. */
  run: RunTimeline | undefined;
  /**
   * The open run's activities' partial output (a model's answer as it streams), by job key: live
   * only, never stored; `ended` once the attempt is over, until the committed result replaces it.
   */
  partials: Record<string, PartialJson>;
  runError: string | undefined;
  costs: CostPoint[] | undefined;
  /** The approvals inbox: pending approvals, and the server's clock when they were read (for countdowns). */
  approvals: { approvals: ApprovalJson[]; serverTime: number; loadedAt: number } | undefined;
  /** Decided approvals (approved, rejected, expired, cancelled), newest first. */
  decided: ApprovalJson[] | undefined;
  /** The latest notice (command result or error), shown briefly. */
  notice: { id: number; kind: 'info' | 'error'; text: string } | undefined;
}

/**
 * The studio's model: owns the connection, the runs list, the open run's
 * timeline and the UI store; React renders `getState()` and calls its methods.
 */
export class Studio {
  readonly ui: UiStore = createUiStore();
  #state: StudioState = {
    connection: 'connecting',
    runtime: false,
    runs: {},
    runsLoaded: false,
    machines: {},
    run: undefined,
    partials: {},
    runError: undefined,
    costs: undefined,
    approvals: undefined,
    decided: undefined,
    notice: undefined,
  };
  readonly #listeners = new Set<() => void>();
  #connection: SpineConnection | undefined;
  #flush: ReturnType<typeof setTimeout> | undefined;
  #detailTimer: ReturnType<typeof setTimeout> | undefined;
  #detailInFlight = false;
  #noticeId = 0;

  constructor(readonly options: { origin?: string } = {}) {}

  /** Current state (stable between changes, for useSyncExternalStore). */
  getState = (): StudioState => this.#state;

  /** Calls `listener` after state changes (coalesced, at most every ~16 ms). */
  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  /** Connects, loads the runs list and machines, and follows the location hash. */
  start(): void {
    const origin = this.options.origin ?? window.location.origin;
    this.#connection = new SpineConnection(`${origin.replace(/^http/, 'ws')}/ws`, {
      onMessage: (message) => this.#onMessage(message),
      onStatus: (status) => this.#onStatus(status),
    });
    window.addEventListener('hashchange', () => this.ui.trigger.navigate({ route: routeFromHash(window.location.hash) }));
    let previous: Route | undefined;
    this.ui.subscribe((snapshot) => {
      const route = snapshot.context.route;
      if (route === previous) return;
      previous = route;
      if (hashOf(route) !== (window.location.hash || '#/')) window.location.hash = hashOf(route);
      this.#onRoute(route);
    });
    this.ui.trigger.navigate({ route: routeFromHash(window.location.hash) });
    previous = this.ui.getSnapshot().context.route;
    this.#onRoute(previous);
    void this.loadRuns();
    void this.loadMachines();
  }

  /** Goes to a route (runs list, a run, costs, approvals). */
  navigate(route: Route): void {
    this.ui.trigger.navigate({ route });
  }

  async loadRuns(): Promise<void> {
    try {
      const { runs } = await this.#api<{ runs: RunSummary[] }>('/api/runs?limit=500');
      this.#set({ runs: Object.fromEntries(runs.map((r) => [r.runId, r])), runsLoaded: true });
    } catch (error) {
      this.#notify('error', `Could not load runs: ${(error as Error).message}`);
      this.#set({ runsLoaded: true });
    }
  }

  async loadMachines(): Promise<void> {
    try {
      const { machines } = await this.#api<{ machines: MachineJson[] }>('/api/machines');
      this.#set({ machines: Object.fromEntries(machines.map((m) => [m.name, m])) });
    } catch (error) {
      this.#notify('error', `Could not load machines: ${(error as Error).message}`);
    }
  }

  async loadCosts(): Promise<void> {
    const { points } = await this.#api<{ points: CostPoint[] }>('/api/costs');
    this.#set({ costs: points });
  }

  /** Reloads the approvals inbox (pending approvals with their deadlines). */
  async loadApprovals(): Promise<void> {
    const { approvals, serverTime } = await this.#api<{ approvals: ApprovalJson[]; serverTime: number }>('/api/approvals?status=all&limit=300');
    const pending = approvals.filter((a) => a.status === 'pending');
    const decided = approvals.filter((a) => a.status !== 'pending').sort((a, b) => (b.decidedAt ?? b.requestedAt) - (a.decidedAt ?? a.requestedAt));
    this.#set({ approvals: { approvals: pending, serverTime, loadedAt: Date.now() }, decided });
  }

  /**
   * Approves (optionally with an edited proposal) or rejects an approval as the person `by`;
   * the server signs the decision, verifies it and drives the run on. Reloads the inbox.
   */
  async decide(
    approvalId: string,
    decision: { decision: 'approve'; by: string; input?: unknown; reason?: string } | { decision: 'reject'; by: string; reason?: string },
  ): Promise<{ ok: true } | { ok: false; message: string; issues: { path: string; message: string }[] }> {
    const { decision: kind, ...body } = decision;
    let outcome: { ok: true } | { ok: false; message: string; issues: { path: string; message: string }[] };
    try {
      const result = await this.request<DecisionJson>({ type: kind, approvalId, ...body });
      outcome = result.status === 'applied' ? { ok: true } : { ok: false, message: `The decision was refused: ${result.reason ?? 'unknown reason'}`, issues: [] };
    } catch (error) {
      const e = error as CommandError;
      outcome = { ok: false, message: e.message, issues: e.issues ?? [] };
    }
    // A bad edit is shown on its card, where it can be corrected; everything else is a notice too.
    if (outcome.ok) this.#notify('info', kind === 'approve' ? `Approved as ${decision.by}.` : `Rejected as ${decision.by}.`);
    else if (!outcome.issues.length) this.#notify('error', outcome.message);
    await this.loadApprovals().catch((e: Error) => this.#notify('error', e.message));
    return outcome;
  }

  /** Sends an event to an actor; the server validates it against the actor's schema. */
  async sendEvent(actorId: string, event: { type: string; [key: string]: unknown }): Promise<void> {
    await this.#command(() => this.#connection!.request({ type: 'send', actorId, event }), `Sent ${event.type} to ${actorId}.`);
  }

  /**
   * Starts a new run that begins as a copy of this run up to the given step (every agent's
   * history), and opens it. With `context`, the actor's context at that step is replaced first
   * (the server checks it against the machine's context schema); a refused edit comes back with
   * its field issues so the person can correct it.
   */
  async fork(runId: string, actorId: string, seq: number, context?: Record<string, unknown>): Promise<{ ok: true } | { ok: false; message: string; issues: { path: string; message: string }[] }> {
    let result: ForkResult;
    try {
      result = await this.request<ForkResult>({ type: 'fork', runId, actorId, seq, ...(context ? { context } : {}) });
    } catch (error) {
      const e = error as CommandError;
      if (!context || !e.issues?.length) this.#notify('error', e.message);
      return { ok: false, message: e.message, issues: e.issues ?? [] };
    }
    this.navigate({ page: 'run', runId: result.runId });
    this.#notify('info', `Forked ${runId} at ${actorId === runId ? '' : `${actorId} `}step ${seq} into ${result.runId}.${result.notes.length ? ` ${result.notes.join(' ')}` : ''}`);
    return { ok: true };
  }

  async cancel(runId: string): Promise<void> {
    await this.#command(() => this.#connection!.request({ type: 'cancel', runId, reason: 'cancelled from the studio' }), `Cancelled ${runId}.`);
  }

  /** Retries a failed step: a backing-off job runs now; a failed one is retried in a fork. */
  async retry(runId: string, jobKey?: string): Promise<void> {
    const result = await this.#command(() => this.#connection!.request<RetryResult>({ type: 'retry', runId, ...(jobKey ? { jobKey } : {}) }));
    if (!result) return;
    if (result.mode === 'now') this.#notify('info', `Job ${result.jobKey} runs again now.`);
    else {
      this.navigate({ page: 'run', runId: result.runId });
      this.#notify('info', `Retrying in a fork of the run from before the failure: ${result.runId}.`);
    }
  }

  /** Sends a command and returns its result; rejects with a CommandError (message and issues) when refused. */
  request<T>(command: Parameters<SpineConnection['request']>[0]): Promise<T> {
    if (!this.#connection) return Promise.reject(new CommandError({ code: 'disconnected', message: 'Not connected to the Spine server.' }));
    return this.#connection.request<T>(command);
  }

  async startRun(machine: string, input: unknown): Promise<void> {
    const result = await this.#command(() => this.#connection!.request<{ runId: string }>({ type: 'start', machine, input }));
    if (result) this.navigate({ page: 'run', runId: result.runId });
  }

  // ---- internals ------------------------------------------------------------------

  #onRoute(route: Route): void {
    // A notice belongs to the page it was raised on: leaving the page dismisses it.
    if (this.#state.notice) this.#set({ notice: undefined });
    const current = this.#state.run;
    if (route.page === 'run') {
      if (current?.runId !== route.runId) {
        this.#set({ run: emptyTimeline(route.runId), partials: {}, runError: undefined });
        this.#subscribeRun(route.runId);
        void this.#loadDetail(route.runId);
      }
      return;
    }
    if (current) {
      this.#set({ run: undefined, partials: {}, runError: undefined });
      void this.#connection?.request({ type: 'unsubscribe' }).catch(() => {});
    }
    if (route.page === 'costs') void this.loadCosts().catch((e: Error) => this.#notify('error', e.message));
    if (route.page === 'approvals') {
      void this.loadApprovals().catch((e: Error) => this.#notify('error', e.message));
    }
  }

  #subscribeRun(runId: string): void {
    if (this.#state.connection !== 'open') return; // resubscribed on open
    this.#connection!.request({ type: 'subscribe', runId, historyLimit: 5000 }).catch((error: CommandError) => {
      if (this.#state.run?.runId === runId) this.#set({ runError: error.message });
    });
  }

  async #loadDetail(runId: string): Promise<void> {
    if (this.#detailInFlight) return;
    this.#detailInFlight = true;
    try {
      const detail = await this.#api<RunDetail>(`/api/runs/${encodeURIComponent(runId)}?history=0`);
      const run = this.#state.run;
      if (run?.runId === runId) this.#set({ run: withDetail(run, detail), runs: { ...this.#state.runs, [runId]: detail.run } });
    } catch (error) {
      if (this.#state.run?.runId === runId) this.#set({ runError: (error as Error).message });
    } finally {
      this.#detailInFlight = false;
    }
  }

  /** Jobs and dead letters are not in the inspection stream: refresh them while steps arrive. */
  #scheduleDetail(runId: string): void {
    if (this.#detailTimer) return;
    this.#detailTimer = setTimeout(() => {
      this.#detailTimer = undefined;
      void this.#loadDetail(runId);
    }, 300);
  }

  #onStatus(status: ConnectionStatus): void {
    this.#set({ connection: status });
    if (status === 'open') {
      const run = this.#state.run;
      if (run) this.#subscribeRun(run.runId);
      void this.loadRuns();
    }
  }

  #onMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'hello':
        this.#set({ runtime: message.runtime });
        return;
      case 'inspect': {
        const run = this.#state.run;
        if (!run) return;
        let next = addEvents(run, message.events);
        if (message.catchUp && message.catchUp.runId === run.runId) {
          next = { ...next, total: message.catchUp.total, truncated: message.catchUp.truncated, caughtUp: true };
        }
        if (next !== run) {
          this.#set({ run: next });
          if (!message.catchUp) this.#scheduleDetail(run.runId);
        }
        return;
      }
      case 'partial': {
        const run = this.#state.run;
        if (run?.runId !== message.runId) return;
        const previous = this.#state.partials[message.jobKey];
        if (message.ended && !previous) return;
        // An ended attempt keeps its text until the job's committed result (or its retry) shows.
        const next = message.ended ? { ...previous!, ended: true as const } : message;
        this.#set({ partials: { ...this.#state.partials, [message.jobKey]: next } });
        // The job's row (where the inspector shows it) may not be loaded yet; an ended attempt has a result or a retry to show.
        if (message.ended || !run.detail?.jobs.some((j) => j.key === message.jobKey && j.status === 'running')) this.#scheduleDetail(run.runId);
        return;
      }
      case 'runs': {
        const runs = { ...this.#state.runs };
        for (const r of message.runs) runs[r.runId] = r;
        this.#set({ runs });
        return;
      }
      case 'gap': {
        const run = this.#state.run;
        if (run) {
          this.#set({ run: emptyTimeline(run.runId) });
          this.#subscribeRun(run.runId);
          void this.#loadDetail(run.runId);
        }
        return;
      }
      case 'reply':
        if (!message.ok) this.#notify('error', message.error.message);
        return;
    }
  }

  async #command<T>(run: () => Promise<T>, success?: string): Promise<T | undefined> {
    try {
      const result = await run();
      if (success) this.#notify('info', success);
      return result;
    } catch (error) {
      const e = error as CommandError;
      const issues = e.issues?.length ? ` (${e.issues.map((i) => `${i.path}: ${i.message}`).join('; ')})` : '';
      this.#notify('error', e.message + (e.message.includes(issues.slice(2, -1)) ? '' : issues));
      return undefined;
    }
  }

  #notify(kind: 'info' | 'error', text: string): void {
    this.#set({ notice: { id: ++this.#noticeId, kind, text } });
  }

  async #api<T>(path: string, init?: RequestInit): Promise<T> {
    const res = await fetch((this.options.origin ?? '') + path, init);
    const body = (await res.json().catch(() => ({}))) as T & { error?: ErrorJson };
    if (!res.ok) throw new Error(body.error?.message ?? `${res.status} ${res.statusText}`);
    return body;
  }

  #set(patch: Partial<StudioState>): void {
    this.#state = { ...this.#state, ...patch };
    this.#flush ??= setTimeout(() => {
      this.#flush = undefined;
      for (const listener of [...this.#listeners]) listener();
    }, 0);
  }
}
