import { ensureError, type PartialNotice } from '@spine/runtime';
import type { InspectedApps } from './InspectedApps.js';
import { actorEventOf, inspectionEventsOf } from './inspection.js';
import type { InspectionEvent, PartialJson, RunSummary, ServerMessage } from './protocol.js';
import type { HistoryRow, RunReader } from './RunReader.js';

/** A connected client as the feed sees it. */
export interface FeedClient {
  /** Which inspection events it receives: one run's, every run's, or none (run summaries only). */
  subscription: { runId?: string; all?: boolean };
  send(text: string): void;
  /** Bytes queued and not yet written to the socket. */
  readonly bufferedAmount: number;
  /** Set when events were dropped because the client read too slowly. */
  lagging?: boolean;
  /**
   * An @statelyai/inspect client (`createWebSocketReceiver`): it gets every inspection event,
   * durable and inspected, each as its own JSON message, and nothing else.
   */
  raw?: boolean;
}

/** Options of LiveFeed; all have defaults. */
export interface LiveFeedOptions {
  /** How often the history table is polled for steps committed by any process (default 20 ms). */
  intervalMs?: number;
  /** Rows read per poll; a full batch polls again at once (default 2,000). */
  batchLimit?: number;
  /** How often changed runs' summaries are sent (default 200 ms). */
  summaryIntervalMs?: number;
  /** A client with more unsent bytes than this misses events and is told to resubscribe (default 16 MiB). */
  maxBufferedBytes?: number;
  onError?: (error: Error) => void;
  /** Least time between two partial-output messages of one running activity (default 100 ms). */
  partialIntervalMs?: number;
  /** Longest partial text sent, in characters: a longer one is sent as its tail (default 32,768). */
  maxPartialChars?: number;
  /** The inspected apps' actors, listed and streamed beside the durable runs. */
  inspected?: InspectedApps;
}

/**
 * Tails the store's history (`historySince`) so that steps committed by every
 * process on the database reach every subscribed client, as inspection events
 * in commit order, and keeps the runs list live with throttled summaries.
 */
export class LiveFeed {
  readonly #reader: RunReader;
  readonly #options: Required<Omit<LiveFeedOptions, 'onError' | 'inspected'>>;
  readonly #inspected: InspectedApps | undefined;
  readonly #onError: (error: Error) => void;
  readonly #clients = new Set<FeedClient>();
  readonly #dirtyRuns = new Set<string>();
  #cursor = 0;
  #timer: NodeJS.Timeout | undefined;
  #summaryTimer: NodeJS.Timeout | undefined;
  #running = false;
  #lastPollAt = 0;
  /** The latest partial output of each running activity attempt of this host, by job key (memory only). */
  readonly #partials = new Map<string, { latest: PartialNotice; sentAt: number; timer: NodeJS.Timeout | undefined }>();

  constructor(reader: RunReader, options: LiveFeedOptions = {}) {
    this.#reader = reader;
    this.#options = {
      intervalMs: options.intervalMs ?? 20,
      batchLimit: options.batchLimit ?? 2000,
      summaryIntervalMs: options.summaryIntervalMs ?? 200,
      maxBufferedBytes: options.maxBufferedBytes ?? 16 * 1024 * 1024,
      partialIntervalMs: options.partialIntervalMs ?? 100,
      maxPartialChars: options.maxPartialChars ?? 32_768,
    };
    this.#inspected = options.inspected;
    this.#onError = options.onError ?? ((error) => process.stderr.write(`spine server: live feed: ${error.message}\n`));
  }

  /** The last history row id the feed has broadcast. */
  get cursor(): number {
    return this.#cursor;
  }

  /** When the history table was last polled (ms since the epoch). */
  get lastPollAt(): number {
    return this.#lastPollAt;
  }

  /** Starts tailing from the newest committed step. */
  async start(): Promise<void> {
    this.#cursor = await this.#reader.headRowId();
    this.#running = true;
    this.#schedule(this.#options.intervalMs);
    this.#summaryTimer = setInterval(() => void this.#flushSummaries(), this.#options.summaryIntervalMs);
  }

  /** Stops polling; clients are closed by the server. */
  stop(): void {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#summaryTimer) clearInterval(this.#summaryTimer);
    for (const entry of this.#partials.values()) clearTimeout(entry.timer);
    this.#partials.clear();
    this.#clients.clear();
  }

  /**
   * Takes a running activity's partial output (`runtime.onPartial`) to the clients watching its
   * run: at most one message per `partialIntervalMs` per attempt (the latest text wins), its text
   * bounded, and never to a client that is behind. The latest is kept in memory until the attempt
   * ends, so a client subscribing mid-call sees the text so far. Nothing is stored.
   */
  partial(notice: PartialNotice): void {
    const entry = this.#partials.get(notice.jobKey);
    if (notice.ended) {
      if (entry) clearTimeout(entry.timer);
      this.#partials.delete(notice.jobKey);
      this.#sendPartial(notice);
      return;
    }
    if (!entry) {
      this.#partials.set(notice.jobKey, { latest: notice, sentAt: Date.now(), timer: undefined });
      this.#sendPartial(notice);
      return;
    }
    entry.latest = notice;
    if (entry.timer) return;
    const wait = entry.sentAt + this.#options.partialIntervalMs - Date.now();
    const flush = () => {
      entry.timer = undefined;
      if (this.#partials.get(notice.jobKey) !== entry) return;
      entry.sentAt = Date.now();
      this.#sendPartial(entry.latest);
    };
    if (wait <= 0) flush();
    else entry.timer = setTimeout(flush, wait);
  }

  #partialText(notice: PartialNotice): string {
    const max = this.#options.maxPartialChars;
    const omitted = Math.max(0, notice.text.length - max);
    const message: PartialJson = {
      type: 'partial',
      runId: notice.runId,
      actorId: notice.actorId,
      jobKey: notice.jobKey,
      src: notice.src,
      attempt: notice.attempt,
      text: omitted ? notice.text.slice(omitted) : notice.text,
      omitted,
      at: notice.at,
      ...(notice.ended ? { ended: true as const } : {}),
    };
    return stringify(message);
  }

  #sendPartial(notice: PartialNotice, only?: FeedClient): void {
    let text: string | undefined;
    for (const client of only ? [only] : this.#clients) {
      if (client.raw || client.subscription.runId !== notice.runId || client.bufferedAmount > this.#options.maxBufferedBytes) continue;
      client.send((text ??= this.#partialText(notice)));
    }
  }

  add(client: FeedClient): void {
    this.#clients.add(client);
  }

  remove(client: FeedClient): void {
    this.#clients.delete(client);
  }

  /**
   * Changes a client's subscription. Subscribing to a run first sends its
   * catch-up: the actors and the most recent `historyLimit` steps up to the
   * feed's cursor; every later step follows live, so nothing is missed or doubled.
   */
  async subscribe(client: FeedClient, subscription: { runId?: string; all?: boolean; historyLimit?: number }): Promise<{ runId?: string; total: number; truncated: boolean }> {
    client.lagging = false;
    const next: FeedClient['subscription'] = {};
    if (subscription.runId !== undefined) next.runId = subscription.runId;
    if (subscription.all) next.all = true;
    if (!subscription.runId) {
      client.subscription = next;
      return { total: 0, truncated: false };
    }
    const runId = subscription.runId;
    if (this.#inspected?.has(runId)) {
      const { events, total, truncated } = this.#inspected.events(runId);
      client.subscription = next;
      client.send(stringify({ type: 'inspect', sentAt: Date.now(), events, catchUp: { runId, total, truncated } }));
      return { runId, total, truncated };
    }
    const cursor = this.#cursor;
    const { rows, total } = await this.#reader.runHistory(runId, { limit: subscription.historyLimit ?? 2000, upToRowId: cursor });
    const events: InspectionEvent[] = [];
    const firstSeen = new Set(rows.filter((r) => r.seq === 1).map((r) => r.actorId));
    const actors = await this.#reader.store.listActors({ runId, limit: 100_000 });
    for (const actor of actors) if (!firstSeen.has(actor.id) && actor.seq > 0) events.push(actorEventOf(actor, await this.#reader.definition(actor.machine, actor.version)));
    for (const row of rows) events.push(...inspectionEventsOf(row, await this.#reader.inspectInfo(row.actorId)));
    const truncated = rows.length < total;
    // Rows after `cursor` are sent by the tail once this subscription is in place.
    client.subscription = next;
    client.send(stringify({ type: 'inspect', sentAt: Date.now(), events, catchUp: { runId, total, truncated } }));
    for (const { latest } of this.#partials.values()) if (latest.runId === runId) this.#sendPartial(latest, client);
    return { runId, total, truncated };
  }

  #schedule(delay: number): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => void this.#poll(), delay);
  }

  async #poll(): Promise<void> {
    let full = false;
    try {
      this.#lastPollAt = Date.now();
      const rows = await this.#reader.store.historySince(this.#cursor, this.#options.batchLimit);
      if (rows.length) {
        this.#cursor = rows[rows.length - 1]!.rowId;
        full = rows.length === this.#options.batchLimit;
        await this.#broadcast(rows);
      }
    } catch (error) {
      this.#onError(ensureError(error));
    }
    if (full) setImmediate(() => void this.#poll());
    else this.#schedule(this.#options.intervalMs);
  }

  async #broadcast(rows: HistoryRow[]): Promise<void> {
    const byRun = new Map<string, string[]>();
    const ordered: string[] = [];
    for (const row of rows) {
      this.#dirtyRuns.add(row.runId);
      const events = inspectionEventsOf(row, await this.#reader.inspectInfo(row.actorId));
      let parts = byRun.get(row.runId);
      if (!parts) byRun.set(row.runId, (parts = []));
      for (const event of events) {
        const text = JSON.stringify(event);
        parts.push(text);
        ordered.push(text);
      }
    }
    if (!this.#clients.size) return;
    const sentAt = Date.now();
    let all: string | undefined;
    for (const client of this.#clients) {
      if (client.raw) {
        if (client.bufferedAmount <= this.#options.maxBufferedBytes) for (const text of ordered) client.send(text);
        continue;
      }
      const { runId, all: wantsAll } = client.subscription;
      let parts: string[] | undefined;
      if (wantsAll) parts = ordered;
      else if (runId) parts = byRun.get(runId);
      if (!parts?.length) continue;
      if (client.bufferedAmount > this.#options.maxBufferedBytes) {
        client.lagging = true;
        continue;
      }
      if (client.lagging) {
        client.lagging = false;
        client.send(stringify({ type: 'gap' }));
      }
      const text = wantsAll ? (all ??= batchText(sentAt, parts)) : batchText(sentAt, parts);
      client.send(text);
    }
  }

  /**
   * Streams events of inspected apps: to studio clients subscribed to their run (or all), and
   * to every @statelyai/inspect receiver but the app that sent them.
   */
  publish(events: InspectionEvent[], from?: FeedClient): void {
    if (!events.length) return;
    const sentAt = Date.now();
    const texts = events.map((event) => JSON.stringify(event));
    for (const event of events) this.#dirtyRuns.add(event.runId);
    for (const client of this.#clients) {
      if (client === from || client.bufferedAmount > this.#options.maxBufferedBytes) continue;
      if (client.raw) {
        for (const text of texts) client.send(text);
        continue;
      }
      const { runId, all } = client.subscription;
      const parts = all ? texts : runId ? texts.filter((_, i) => events[i]!.runId === runId) : [];
      if (parts.length) client.send(batchText(sentAt, parts));
    }
  }

  async #flushSummaries(): Promise<void> {
    if (!this.#dirtyRuns.size) return;
    const runIds = [...this.#dirtyRuns];
    this.#dirtyRuns.clear();
    try {
      const runs = (await Promise.all(runIds.map(async (id) => this.#inspected?.summary(id) ?? (await this.#reader.runSummary(id))))).filter((r): r is RunSummary => r !== undefined);
      if (!runs.length || !this.#clients.size) return;
      const text = stringify({ type: 'runs', runs });
      for (const client of this.#clients) if (!client.raw && client.bufferedAmount <= this.#options.maxBufferedBytes) client.send(text);
    } catch (error) {
      this.#onError(ensureError(error));
    }
  }

  /** Marks a run changed outside the history (e.g. cancelled) so its summary is sent. */
  touch(runId: string): void {
    this.#dirtyRuns.add(runId);
  }
}

function batchText(sentAt: number, parts: string[]): string {
  return `{"type":"inspect","sentAt":${sentAt},"events":[${parts.join(',')}]}`;
}

/** Serialises a server message. */
export function stringify(message: ServerMessage): string {
  return JSON.stringify(message);
}
