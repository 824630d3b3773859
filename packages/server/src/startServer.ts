import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureError, type ActorStatus, type Runtime, type Store } from '@spine/runtime';
import { parseJson } from '@spine/runtime/store';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';
import { InspectedApps, looksLikeInspection, statelyEventSchema } from './InspectedApps.js';
import { actorEventOf, inspectionEventsOf } from './inspection.js';
import { LiveFeed, stringify, type FeedClient } from './LiveFeed.js';
import { MachineEditing } from './MachineEditing.js';
import { approvalRoutes } from './approvalRoutes.js';
import { machinesJson } from './machinesJson.js';
import { bodies, commandSchema, type Command, type ServerMessage, type StepJson } from './protocol.js';
import { RunControl } from './RunControl.js';
import { RunReader, type HistoryRow } from './RunReader.js';
import { limiterOf, type RefusalLimit } from './RefusalLimiter.js';
import { hostAllowed, isLoopback, originAllowed, tokenMatches, tokenOf } from './security.js';
import { describe, ServerError, toErrorJson } from './ServerError.js';
import { staticFiles } from './staticFiles.js';
import { depthProblem, MAX_EVENT_DEPTH, zodIssues } from '@spine/runtime';

/** Options of startServer; every field but `store` has a default. */
export interface ServerOptions {
  /** The database to inspect and control (an open SqliteStore for `spine serve`). */
  store: Store;
  /** A started host with the machines loaded: needed to start runs and send events. */
  runtime?: Runtime;
  /** Bind address (default 127.0.0.1). Any non-loopback address requires `token`. */
  host?: string;
  /** Port (default 0: any free port). */
  port?: number;
  /** Token every request must carry when set (default `process.env.SPINE_TOKEN`). */
  token?: string;
  /** The built studio (default: apps/studio/dist of this checkout, when present). */
  studioDir?: string;
  /** Largest accepted HTTP body or WebSocket command, in bytes (default 256 KiB). */
  maxPayloadBytes?: number;
  /** How often the history is polled for steps of other processes (default 20 ms). */
  pollIntervalMs?: number;
  /** Request log; default silent. */
  log?: (line: string) => void;
  /** The machines directory the editor saves to (`spine serve --machines DIR`); without it, machines are read-only. */
  machinesDir?: string;
  /** Refused commands allowed per connection before it is rate-limited (default: a burst of 100, then 10/s). */
  refusals?: Partial<RefusalLimit>;
  /** Eval suites and scores for the studio's Evals page (`GET /api/evals`); `spine serve` reads them from the database. */
  evals?: () => unknown;
}

/** A running studio server. */
export interface SpineServer {
  /** `http://host:port`, the studio's address. */
  url: string;
  port: number;
  /** The live feed (exposed for tests and benchmarks). */
  feed: LiveFeed;
  /** Actors of XState apps inspected into this server (`createWebSocketInspector({ url: <server>/inspect })`). */
  inspected: InspectedApps;
  /** Stops accepting connections and closes every client; the store and runtime stay open. */
  close(): Promise<void>;
}

const DEFAULT_STUDIO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../apps/studio/dist');
const HEARTBEAT_MS = 30_000;

/**
 * Starts the studio server: REST under `/api`, the live inspection feed and
 * commands on one WebSocket at `/ws`, the @statelyai/inspect protocol at
 * `/inspect` (and `/`): XState apps' `createWebSocketInspector` send their actors
 * there, and `createWebSocketReceiver` reads every durable and inspected actor's
 * events from it; the built studio for every other path.
 *
 * @example
 * const store = await SqliteStore.open('.spine/spine.db');
 * const server = await startServer({ store, runtime });
 * console.log(`Spine studio: ${server.url}`);
 */
export async function startServer(options: ServerOptions): Promise<SpineServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? (process.env.SPINE_TOKEN || undefined);
  const loopback = isLoopback(host);
  if (!loopback && !token) {
    throw new ServerError(
      'token_required',
      `Refusing to listen on ${host}: it is reachable from other machines and no token is set. Set SPINE_TOKEN (or pass token) or bind to 127.0.0.1.`,
    );
  }
  const maxPayloadBytes = options.maxPayloadBytes ?? 256 * 1024;
  const log = options.log ?? (() => {});
  const reader = new RunReader(options.store);
  const inspected = new InspectedApps();
  const feed = new LiveFeed(reader, { intervalMs: options.pollIntervalMs ?? 20, inspected });
  const control = new RunControl(reader, options.runtime, { onRunChanged: (runId) => feed.touch(runId) });
  const serveStatic = staticFiles(options.studioDir ?? (existsSync(DEFAULT_STUDIO_DIR) ? DEFAULT_STUDIO_DIR : undefined));
  const startedAt = Date.now();

  const editing = new MachineEditing({
    store: options.store,
    ...(options.runtime ? { runtime: options.runtime } : {}),
    ...(options.machinesDir ? { machinesDir: options.machinesDir } : {}),
    onRunChanged: (runId) => feed.touch(runId),
  });
  const api = new Api(reader, control, options.runtime, feed, maxPayloadBytes, startedAt, editing, inspected, options.evals);

  const server = createServer((req, res) => {
    void handle(req, res).catch((error) => {
      const { status, json } = toErrorJson(error);
      if (status >= 500) log(`error: ${ensureError(error).stack ?? json.message}`);
      if (!res.headersSent) sendJson(res, status, { error: json });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    log(`${req.method} ${url.pathname}`);
    if (!hostAllowed(req, loopback)) throw new ServerError('forbidden_host', `Host '${req.headers.host ?? ''}' is not this server; use http://127.0.0.1 or http://localhost.`);
    if (token) {
      const given = tokenOf(req, url);
      if (!tokenMatches(given, token)) {
        throw new ServerError('unauthorized', 'This Spine server requires a token: open the studio at /?token=YOUR_SPINE_TOKEN or send `Authorization: Bearer YOUR_SPINE_TOKEN`.');
      }
      if (url.searchParams.has('token') && req.method === 'GET' && !url.pathname.startsWith('/api/')) {
        // Keep the token out of the address bar and history: move it to an HTTP-only cookie.
        url.searchParams.delete('token');
        res.writeHead(303, {
          location: url.pathname + url.search,
          'set-cookie': `spine_token=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
        });
        res.end();
        return;
      }
    }
    if (url.pathname.startsWith('/api/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        if (!originAllowed(req)) throw new ServerError('forbidden_origin', `Origin '${req.headers.origin}' may not call this server.`);
        if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
          throw new ServerError('invalid_command', 'Send request bodies as JSON with `Content-Type: application/json`.');
        }
      }
      const limiter = req.method === 'GET' || req.method === 'HEAD' ? undefined : limiterOf(req.socket, options.refusals);
      limiter?.check();
      try {
        const result = await api.route(req, url);
        sendJson(res, result.status ?? 200, result.body);
      } catch (error) {
        limiter?.refused();
        throw error;
      }
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new ServerError('not_found', `${req.method} ${url.pathname} is not a route.`);
    if (!serveStatic(url.pathname, res)) throw new ServerError('not_found', `No file ${url.pathname}.`);
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: Math.max(maxPayloadBytes * 4, 1024 * 1024) });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const refuse = (status: number, text: string, message: string) => {
      log(`refused WebSocket upgrade: ${status} ${message}`);
      socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`);
    };
    const inspect = url.pathname === '/inspect' || url.pathname === '/';
    if (url.pathname !== '/ws' && !inspect) return refuse(404, 'Not Found', 'The WebSocket endpoints are /ws (the studio) and /inspect (@statelyai/inspect).');
    if (!hostAllowed(req, loopback)) return refuse(403, 'Forbidden', `Host '${req.headers.host ?? ''}' is not this server.`);
    if (token && !tokenMatches(tokenOf(req, url), token)) return refuse(401, 'Unauthorized', 'This Spine server requires a token.');
    if (inspect) {
      // A page of another origin (an XState app in a browser) may send its actors, never read the feed.
      wss.handleUpgrade(req, socket, head, (ws) => connectInspector(ws, originAllowed(req)));
      return;
    }
    if (!originAllowed(req)) return refuse(403, 'Forbidden', `Origin '${req.headers.origin}' may not open the studio socket; only pages served by this server may.`);
    wss.handleUpgrade(req, socket, head, (ws) => connect(ws));
  });

  const sockets = new Set<WebSocket>();
  function heartbeat(ws: WebSocket): () => void {
    let alive = true;
    ws.on('pong', () => (alive = true));
    const ping = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, HEARTBEAT_MS);
    return () => clearInterval(ping);
  }

  /** Takes an app's inspection event: recorded, then streamed to the studio and the receivers. */
  function inspectEvent(prefix: string, json: unknown, from: FeedClient | undefined): void {
    feed.publish([inspected.ingest(prefix, json)], from);
  }

  /** A feed client that writes to a socket, kept alive by heartbeats and taken out of the feed when the socket closes. */
  function socketClient(ws: WebSocket, options: { raw?: true }): FeedClient {
    sockets.add(ws);
    const client: FeedClient = {
      subscription: {},
      ...options,
      send: (text) => {
        if (ws.readyState === ws.OPEN) ws.send(text);
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
    };
    const stop = heartbeat(ws);
    ws.on('close', () => {
      stop();
      feed.remove(client);
      sockets.delete(ws);
    });
    ws.on('error', () => ws.terminate());
    return client;
  }

  /** An @statelyai/inspect connection: an inspected app, a receiver, or both (as the protocol allows). */
  function connectInspector(ws: WebSocket, mayRead: boolean): void {
    const client = socketClient(ws, { raw: true });
    const prefix = inspected.connect();
    if (mayRead) {
      feed.add(client);
      // What a receiver needs to draw what is already running: every active durable actor and every inspected one.
      void (async () => {
        const actors = await options.store.listActors({ status: ['active'], limit: 1000 });
        for (const actor of actors) if (actor.seq > 0) client.send(JSON.stringify(actorEventOf(actor, await reader.definition(actor.machine, actor.version))));
        for (const event of inspected.actorEvents()) if (!event.actorId.startsWith(prefix)) client.send(JSON.stringify(event));
      })().catch((error) => log(`inspect replay: ${ensureError(error).message}`));
    }
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) return;
      try {
        inspectEvent(prefix, JSON.parse(rawText(data)), client);
      } catch (error) {
        log(`ignored a message on /inspect that is not an @statelyai/inspect event: ${ensureError(error).message.slice(0, 300)}`);
      }
    });
  }

  function connect(ws: WebSocket): void {
    const client = socketClient(ws, {});
    let inspectPrefix: string | undefined;
    feed.add(client);
    const reply = (message: ServerMessage) => client.send(stringify(message));
    reply({ type: 'hello', protocol: 1, serverTime: Date.now(), runtime: Boolean(options.runtime), maxPayloadBytes });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      void (async () => {
        const size = rawSize(data);
        let id: string | null = null;
        const limiter = limiterOf(ws, options.refusals);
        try {
          if (isBinary) throw new ServerError('invalid_json', 'Commands are JSON text messages.');
          const text = rawText(data);
          if (size > maxPayloadBytes) {
            id = requestIdOf(text);
            throw new ServerError('payload_too_large', `The command is ${size} bytes; the limit is ${maxPayloadBytes} bytes (maxPayloadBytes). Nothing was changed.`);
          }
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch (error) {
            throw new ServerError('invalid_json', `The command is not valid JSON: ${(error as Error).message}`);
          }
          checkShape(json, 'The command');
          if (looksLikeInspection(json)) {
            // An XState app's inspector pointed at /ws: its events are taken as on /inspect (no reply, as that protocol has none).
            const parsedEvent = statelyEventSchema.safeParse(json);
            if (!parsedEvent.success) {
              const issues = zodIssues(parsedEvent.error);
              throw new ServerError('invalid_command', `Not an @statelyai/inspect event: ${describe(issues)}.`, { issues });
            }
            inspectEvent((inspectPrefix ??= inspected.connect()), json, client);
            return;
          }
          if (json && typeof json === 'object' && typeof (json as { id?: unknown }).id === 'string') id = (json as { id: string }).id.slice(0, 100);
          limiter.check(); // after the id is known, so the refusal answers the command; before anything is validated or stored
          const parsed = commandSchema.safeParse(json);
          if (!parsed.success) {
            const issues = zodIssues(parsed.error);
            throw new ServerError('invalid_command', `${describe(issues)}. Nothing was changed.`, { issues });
          }
          const command = parsed.data;
          id = command.id;
          const result = await api.command(command, client);
          reply({ type: 'reply', id: command.id, ok: true, result });
        } catch (error) {
          const { json } = toErrorJson(error);
          if (json.code !== 'rate_limited') limiter.refused();
          reply({ type: 'reply', id, ok: false, error: json });
        }
      })();
    });
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  await feed.start();
  // Partial output of this process's running activities (a model's answer as it streams): live only.
  const stopPartials = options.runtime?.onPartial((notice) => feed.partial(notice));
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    feed,
    inspected,
    async close() {
      stopPartials?.();
      feed.stop();
      for (const ws of sockets) ws.close(1001, 'server closing');
      wss.close();
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    },
  };
}

const statusQuery = z
  .string()
  .transform((s) => s.split(',').filter(Boolean))
  .pipe(z.array(z.enum(['active', 'done', 'error', 'stopped'])));
const runsQuery = z.strictObject({
  status: statusQuery.optional(),
  machine: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(5000).optional(),
  token: z.string().optional(),
});
const detailQuery = z.strictObject({ history: z.coerce.number().int().min(0).max(100_000).optional(), token: z.string().optional() });
const historyQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(100_000).optional(), token: z.string().optional() });
const runIdParam = z.string().min(1).max(500);
const routes = {
  sendBody: bodies.send.extend({ actorId: bodies.send.shape.actorId.optional() }),
  cancelBody: bodies.cancel.omit({ runId: true }),
  retryBody: bodies.retry.omit({ runId: true }),
  forkBody: bodies.fork.omit({ runId: true }),
  moveBody: bodies.moveActor.extend({ actorId: bodies.moveActor.shape.actorId.optional() }),
};

/** REST routes and WebSocket commands over the same control and read model. */
class Api {
  constructor(
    readonly reader: RunReader,
    readonly control: RunControl,
    readonly runtime: Runtime | undefined,
    readonly feed: LiveFeed,
    readonly maxPayloadBytes: number,
    readonly startedAt: number,
    readonly editing: MachineEditing,
    readonly inspected: InspectedApps,
    readonly evals: (() => unknown) | undefined = undefined,
  ) {}

  async route(req: IncomingMessage, url: URL): Promise<{ status?: number; body: unknown }> {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const parts = url.pathname.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
    const [resource, id, action, ...rest] = parts;
    const body = method === 'POST' ? () => readJson(req, this.maxPayloadBytes) : undefined;
    if (rest.length) throw notFound(method, url);
    if (method === 'GET' && resource === 'health' && !id) {
      return {
        body: { ok: true, runtime: Boolean(this.runtime), machines: this.runtime?.registry.names() ?? [], cursor: this.feed.cursor, lastPollAt: this.feed.lastPollAt, uptimeMs: Date.now() - this.startedAt },
      };
    }
    if (resource === 'runs') {
      if (method === 'GET' && !id) {
        const query = parse(runsQuery, Object.fromEntries(url.searchParams));
        const status = query.status as ActorStatus[] | undefined;
        const durable = await this.reader.listRuns({ ...(query.limit ? { limit: query.limit } : {}), ...(status ? { status } : {}), ...(query.machine ? { machine: query.machine } : {}) });
        const live = this.inspected.list().filter((r) => (!status || status.includes(r.status)) && (!query.machine || r.machine === query.machine));
        return { body: { runs: [...live, ...durable].slice(0, query.limit ?? 200 + live.length) } };
      }
      if (method === 'POST' && !id) return { status: 201, body: await this.control.start(parse(bodies.start, await body!())) };
      const runId = parse(runIdParam, id);
      if (method === 'GET' && this.inspected.has(runId)) {
        if (!action) return { body: this.inspected.detail(runId) };
        if (action === 'history') {
          const { events, total, truncated } = this.inspected.events(runId);
          return { body: { total, truncated, events } };
        }
      }
      if (method === 'GET' && !action) {
        const { history: limit } = parse(detailQuery, Object.fromEntries(url.searchParams));
        const detail = await this.reader.runDetail(runId);
        const { rows, total } = await this.reader.runHistory(runId, { limit: limit ?? 200 });
        return { body: { ...detail, history: { total, truncated: rows.length < total, steps: rows.map(stepJson) } } };
      }
      if (method === 'GET' && action === 'history') {
        const { limit } = parse(historyQuery, Object.fromEntries(url.searchParams));
        if (!(await this.reader.runSummary(runId))) throw new ServerError('unknown_run', `No run with id '${runId}'.`);
        const { rows, total } = await this.reader.runHistory(runId, { limit: limit ?? 2000 });
        const events = [];
        for (const row of rows) events.push(...inspectionEventsOf(row, await this.reader.inspectInfo(row.actorId)));
        return { body: { total, truncated: rows.length < total, events } };
      }
      if (method === 'POST' && action === 'events') {
        const input = parse(routes.sendBody, await body!());
        return { status: 202, body: await this.control.send({ actorId: input.actorId ?? runId, event: input.event }) };
      }
      if (method === 'POST' && action === 'cancel') return { body: await this.control.cancel({ runId, ...parse(routes.cancelBody, await body!()) }) };
      if (method === 'POST' && action === 'retry') return { body: await this.control.retry({ runId, ...parse(routes.retryBody, await body!()) }) };
      if (method === 'POST' && action === 'fork') return { status: 201, body: await this.control.fork({ runId, ...parse(routes.forkBody, await body!()) }) };
      if (method === 'POST' && action === 'move') {
        const input = parse(routes.moveBody, await body!());
        return { body: await this.editing.move({ actorId: input.actorId ?? runId, ...(input.version ? { version: input.version } : {}) }) };
      }
    }
    if (method === 'GET' && resource === 'machines' && !id) return { body: { machines: this.editing.withSources(await machinesJson(this.reader.store, this.runtime?.registry)) } };
    if (method === 'POST' && resource === 'machines' && id && !action) return { body: await this.editing.save(parse(bodies.saveMachine, { ...(asObject(await body!())), machine: id })) };
    if (method === 'GET' && resource === 'costs' && !id) {
      const runId = url.searchParams.get('runId') ?? undefined;
      return { body: { points: await this.reader.costs(runId ? { runId } : {}) } };
    }
    if (method === 'GET' && resource === 'dead-letters' && !id) {
      const actorId = url.searchParams.get('actorId') ?? undefined;
      return { body: { deadLetters: await this.reader.store.listDeadLetters(actorId) } };
    }
    if (method === 'GET' && resource === 'evals' && !id) return { body: this.evals ? await this.evals() : { suites: [] } };
    const governed = await approvalRoutes({ method, resource, id, action, url, body, reader: this.reader, control: this.control });
    if (governed) return governed;
    throw notFound(method, url);
  }

  async command(command: Command, client: FeedClient): Promise<unknown> {
    switch (command.type) {
      case 'subscribe': {
        const { type: _t, id: _i, ...subscription } = command;
        if (subscription.runId && !this.inspected.has(subscription.runId) && !(await this.reader.runSummary(subscription.runId))) {
          throw new ServerError('unknown_run', `No run with id '${subscription.runId}'.`);
        }
        return this.feed.subscribe(client, subscription);
      }
      case 'unsubscribe':
        client.subscription = {};
        return { ok: true };
      case 'start':
        return this.control.start(strip(command));
      case 'send':
        return this.control.send(strip(command));
      case 'cancel':
        return this.control.cancel(strip(command));
      case 'retry':
        return this.control.retry(strip(command));
      case 'fork':
        return this.control.fork(strip(command));
      case 'approve':
        return this.control.approve(strip(command));
      case 'reject':
        return this.control.reject(strip(command));
      case 'saveMachine':
        return this.editing.save(strip(command));
      case 'moveActor':
        return this.editing.move(strip(command));
    }
  }
}

/** A history row as the run detail lists it (the snapshot stays out; the live feed and /history carry it). */
function stepJson(row: HistoryRow): StepJson {
  const snapshot = parseJson(row.snapshot) as { context?: unknown } | undefined;
  return {
    rowId: row.rowId,
    actorId: row.actorId,
    seq: row.seq,
    eventType: row.eventType,
    event: parseJson(row.event),
    state: parseJson(row.stateValue) ?? null,
    context: snapshot?.context ?? null,
    status: row.status,
    at: row.startedAt,
    durationUs: row.durationUs,
  };
}

function asObject(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function strip<T extends { type: string; id: string }>(command: T): Omit<T, 'type' | 'id'> {
  const { type: _type, id: _id, ...body } = command;
  return body;
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = zodIssues(result.error);
  throw new ServerError('invalid_command', `${describe(issues)}. Nothing was changed.`, { issues });
}

function notFound(method: string | undefined, url: URL): ServerError {
  return new ServerError('not_found', `${method} ${url.pathname} is not an API route. See GET /api/health, /api/runs, /api/machines.`);
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    throw new ServerError('payload_too_large', `The request body is ${declared} bytes; the limit is ${limit} bytes (maxPayloadBytes). Nothing was changed.`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      throw new ServerError('payload_too_large', `The request body is over the limit of ${limit} bytes (maxPayloadBytes). Nothing was changed.`);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return {};
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (error) {
    throw new ServerError('invalid_json', `The request body is not valid JSON: ${(error as Error).message}`);
  }
  return checkShape(json, 'The request body');
}

/** Refuses JSON too deep to validate safely, or holding a `__proto__` key (the schemas would silently drop it). */
function checkShape(json: unknown, subject: string): unknown {
  const problem = depthProblem(json, MAX_EVENT_DEPTH + 2, subject); // room for the wrapper around an event
  if (problem) throw new ServerError('invalid_command', `${problem} Nothing was changed.`);
  return json;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function rawSize(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

/** The `id` of a command, found even when the command is too large or invalid to accept. */
function requestIdOf(text: string): string | null {
  try {
    const id = (JSON.parse(text) as { id?: unknown } | null)?.id;
    return typeof id === 'string' && id.length <= 100 ? id : null;
  } catch {
    return null;
  }
}
