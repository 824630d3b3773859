import { request } from 'node:http';
import { createRuntime, type Runtime } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { InspectionEvent, RunDetail, RunSummary, ServerMessage } from './protocol.js';
import { startServer, type ServerOptions, type SpineServer } from './startServer.js';
import { helperMachine, paymentMachine, teamMachine, tempDbPath, tickerMachine } from './testing/machines.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: Partial<ServerOptions> & { tickMs?: number; failures?: { remaining: number; calls: number } } = {}) {
  const path = tempDbPath();
  const store = await SqliteStore.open(path);
  const failures = options.failures ?? { remaining: 0, calls: 0 };
  const runtime = createRuntime({ store, machines: [tickerMachine(options.tickMs ?? 100), paymentMachine(failures), teamMachine, helperMachine], pollIntervalMs: 20 });
  await runtime.start();
  const server = await startServer({ store, runtime, studioDir: '/nonexistent', ...options });
  cleanups.push(async () => {
    await server.close();
    await runtime.stop();
    await store.close();
  });
  return { path, store, runtime, server, failures };
}

/** A second host on the same database file, as a separate `spine run` would be. */
async function otherHost(path: string, tickMs = 100): Promise<Runtime> {
  const store = await SqliteStore.open(path);
  const runtime = createRuntime({ store, machines: [tickerMachine(tickMs), paymentMachine({ remaining: 0, calls: 0 })], pollIntervalMs: 20 });
  await runtime.start();
  cleanups.push(async () => {
    await runtime.stop();
    await store.close();
  });
  return runtime;
}

class Client {
  readonly messages: ServerMessage[] = [];
  readonly #waiters = new Set<() => void>();
  #n = 0;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)) as ServerMessage);
      for (const waiter of [...this.#waiters]) waiter();
    });
  }

  static async open(server: SpineServer, headers: Record<string, string> = {}): Promise<Client> {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`, { headers });
    const client = new Client(ws);
    cleanups.push(async () => ws.close());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  async waitFor<T extends ServerMessage>(predicate: (m: ServerMessage) => m is T, timeoutMs?: number): Promise<T>;
  async waitFor(predicate: (m: ServerMessage) => boolean, timeoutMs?: number): Promise<ServerMessage>;
  async waitFor(predicate: (m: ServerMessage) => boolean, timeoutMs = 5000): Promise<ServerMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out; got ${this.messages.map((m) => m.type).join(', ')}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#waiters.delete(done);
          resolve();
        };
        this.#waiters.add(done);
        setTimeout(done, 50);
      });
    }
  }

  async request(command: Record<string, unknown>): Promise<Extract<ServerMessage, { type: 'reply' }>> {
    const id = `r${++this.#n}`;
    this.ws.send(JSON.stringify({ ...command, id }));
    return this.waitFor((m): m is Extract<ServerMessage, { type: 'reply' }> => m.type === 'reply' && m.id === id);
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  events(): InspectionEvent[] {
    return this.messages.flatMap((m) => (m.type === 'inspect' ? m.events : []));
  }

  snapshots(actorId: string): { seq: number; value: unknown }[] {
    return this.events()
      .filter((e) => e.type === '@xstate.snapshot' && e.actorId === actorId)
      .map((e) => ({ seq: e.seq, value: (e as Extract<InspectionEvent, { type: '@xstate.snapshot' }>).snapshot.value }));
  }
}

async function getJson<T>(server: SpineServer, path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(server.url + path, init);
  return { status: res.status, body: (await res.json()) as T };
}

function postJson<T>(server: SpineServer, path: string, body: unknown, headers: Record<string, string> = {}) {
  return getJson<T>(server, path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met: ${JSON.stringify(value)?.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('studio server: live inspection', () => {
  it('streams the steps another host commits to the same database, after a catch-up, in the @statelyai/inspect shapes', async () => {
    const { path, server } = await setup();
    const writer = await otherHost(path);
    const { runId } = await writer.startRun('ticker', { input: { label: 'a' } });
    await until(() => writer.store.getActor(runId), (a) => a?.seq === 2);

    const client = await Client.open(server);
    const reply = await client.request({ type: 'subscribe', runId });
    expect(reply).toMatchObject({ ok: true, result: { runId, truncated: false } });
    const catchUp = await client.waitFor((m) => m.type === 'inspect' && m.catchUp !== undefined);
    // The catch-up holds the steps up to the feed's cursor; later ones follow live, none twice.
    expect(catchUp.type === 'inspect' && catchUp.events.slice(0, 3).map((e) => e.type)).toEqual(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);

    await until(async () => client.snapshots(runId), (s) => s.some((x) => x.value === 'waiting'));
    const snapshots = client.snapshots(runId);
    expect(snapshots.map((s) => s.seq)).toEqual([1, 2, 3, 4]);
    expect(snapshots.map((s) => s.value)).toEqual(['tick1', 'tick2', 'tick3', 'waiting']);
    const live = client.events().find((e) => e.type === '@xstate.snapshot' && e.seq === 4)!;
    expect(live).toMatchObject({
      rootId: runId,
      sessionId: runId,
      actorId: runId,
      runId,
      machine: 'ticker',
      seq: 4,
      status: 'active',
      _version: 'spine-inspect/1',
      event: { type: 'xstate.after.100.ticker.tick3' },
      snapshot: { value: 'waiting', context: { label: 'a', pokes: 0 } },
    });
    expect(live.rowId).toBeGreaterThan(0);
    expect(typeof live.createdAt).toBe('string');
  });

  it('keeps the runs list live with summaries of changed runs', async () => {
    const { runtime, server } = await setup();
    const client = await Client.open(server);
    const { runId } = await runtime.startRun('ticker');
    const update = await client.waitFor((m) => m.type === 'runs' && m.runs.some((r) => r.runId === runId));
    const run = update.type === 'runs' ? update.runs.find((r) => r.runId === runId)! : undefined;
    expect(run).toMatchObject({ runId, machine: 'ticker', status: 'active', tokens: { total: 0 }, costUsd: 0 });
    expect(run!.steps).toBeGreaterThanOrEqual(1);
  });
});

describe('studio server: REST', () => {
  it('lists runs with steps, tokens and cost from the job journals, and shows a run with its actors and activity calls', async () => {
    const { runtime, server } = await setup();
    const { runId } = await runtime.startRun('payment');
    await runtime.waitForRun(runId);

    const health = await getJson<{ ok: boolean; runtime: boolean; machines: string[] }>(server, '/api/health');
    expect(health).toEqual({ status: 200, body: expect.objectContaining({ ok: true, runtime: true, machines: ['helper', 'payment', 'team', 'ticker'] }) });

    const list = await getJson<{ runs: RunSummary[] }>(server, '/api/runs');
    expect(list.body.runs).toEqual([
      expect.objectContaining({ runId, machine: 'payment', status: 'done', state: 'paid', steps: 2, actors: 1, tokens: { input: 100, output: 20, total: 120 }, costUsd: 0.0012 }),
    ]);

    const detail = await getJson<RunDetail>(server, `/api/runs/${runId}`);
    expect(detail.body.actors).toEqual([expect.objectContaining({ id: runId, parentId: null, status: 'done', state: 'paid' })]);
    expect(detail.body.history).toMatchObject({ total: 2, truncated: false, steps: [{ seq: 1, eventType: 'xstate.init', state: 'charging' }, { seq: 2, eventType: 'xstate.done.actor.charge', state: 'paid' }] });
    expect(detail.body.jobs).toEqual([
      expect.objectContaining({ src: 'charge', step: 1, status: 'done', attempts: 1, input: { amount: 5 }, output: { receipt: 'r-5' }, models: ['scripted-1'], costUsd: 0.0012 }),
    ]);
    expect(detail.body.jobs[0]!.journal[0]).toMatchObject({ attempt: 1, outcome: 'ok' });

    expect((await getJson(server, '/api/runs/nope')).status).toBe(404);
    const filtered = await getJson<{ runs: RunSummary[] }>(server, '/api/runs?status=active');
    expect(filtered.body.runs).toEqual([]);
    const bad = await getJson<{ error: { code: string; message: string } }>(server, '/api/runs?status=sleeping');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('status');
  });

  it('describes machines with their JSON configs and accepted events as JSON Schema', async () => {
    const { server } = await setup();
    const { body } = await getJson<{ machines: { name: string; runnable: boolean; versions: { config: any }[]; events: { type: string; schema: any }[] }[] }>(server, '/api/machines');
    const ticker = body.machines.find((m) => m.name === 'ticker')!;
    expect(ticker.runnable).toBe(true);
    expect(ticker.versions[0]!.config.states.waiting).toBeDefined();
    expect(ticker.events.find((e) => e.type === 'ticker.resume')!.schema).toMatchObject({ type: 'object', properties: { note: { type: 'string' } } });
  });
});

describe('studio server: commands', () => {
  it('sends an event through the runtime so it reaches the run', async () => {
    const { runtime, server } = await setup();
    const { runId } = await runtime.startRun('ticker');
    await until(() => runtime.store.getActor(runId), (a) => a?.stateValue === '"waiting"');
    const client = await Client.open(server);
    const reply = await client.request({ type: 'send', actorId: runId, event: { type: 'ticker.resume', note: 'from the studio' } });
    expect(reply.ok).toBe(true);
    const actor = await until(() => runtime.store.getActor(runId), (a) => a?.status === 'done');
    expect(JSON.parse(actor!.output!)).toEqual({ pokes: 0, note: 'from the studio' });

    const rest = await postJson<{ eventId: number }>(server, `/api/runs/${runId}/events`, { event: { type: 'ticker.poke' } });
    expect(rest.status).toBe(400); // the run is done: refused and dead-lettered
  });

  it('refuses an invalid event with the failing field, dead-letters it and leaves the run untouched', async () => {
    const { runtime, server } = await setup();
    const { runId } = await runtime.startRun('ticker');
    await until(() => runtime.store.getActor(runId), (a) => a?.stateValue === '"waiting"');
    const before = await runtime.store.getActor(runId);
    const client = await Client.open(server);
    const reply = await client.request({ type: 'send', actorId: runId, event: { type: 'ticker.resume', note: '' } });
    expect(reply).toMatchObject({ ok: false, error: { code: 'invalid_event', issues: [{ path: 'note' }] } });
    expect(await runtime.store.listDeadLetters(runId)).toHaveLength(1);
    expect(await runtime.store.getActor(runId)).toMatchObject({ seq: before!.seq, stateValue: '"waiting"' });
  });

  it('refuses an oversized command naming the limit, and changes nothing', async () => {
    const { runtime, server } = await setup({ maxPayloadBytes: 4096 });
    const { runId } = await runtime.startRun('ticker');
    await until(() => runtime.store.getActor(runId), (a) => a?.stateValue === '"waiting"');
    const client = await Client.open(server);
    const reply = await client.request({ type: 'send', actorId: runId, event: { type: 'ticker.resume', note: 'x'.repeat(10_000) } });
    expect(reply).toMatchObject({ ok: false, error: { code: 'payload_too_large', message: expect.stringContaining('4096 bytes') } });
    const rest = await postJson<{ error: { code: string; message: string } }>(server, `/api/runs/${runId}/events`, { event: { type: 'ticker.resume', note: 'x'.repeat(10_000) } });
    expect(rest.status).toBe(413);
    expect(rest.body.error.message).toContain('4096 bytes');
    expect(await runtime.store.listDeadLetters(runId)).toHaveLength(0);
    expect(await runtime.store.getActor(runId)).toMatchObject({ seq: 4, stateValue: '"waiting"' });
  });

  it('refuses malformed and unknown commands with a message that names the problem', async () => {
    const { server } = await setup();
    const client = await Client.open(server);
    client.sendRaw('{not json');
    const bad = await client.waitFor((m) => m.type === 'reply' && !m.ok);
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_json' } });
    const unknown = await client.request({ type: 'explode' });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'invalid_command', issues: [{ path: 'type' }] } });
    const missing = await client.request({ type: 'fork', runId: 'r' });
    expect(missing).toMatchObject({ ok: false, error: { code: 'invalid_command', issues: [{ path: 'seq' }] } });
  });

  it('cancels a run: every actor stops with a recorded step, and no host advances it any more', async () => {
    const { runtime, server } = await setup({ tickMs: 150 });
    const { runId } = await runtime.startRun('ticker');
    await until(() => runtime.store.getActor(runId), (a) => a?.seq === 1);
    const res = await postJson<{ stopped: string[] }>(server, `/api/runs/${runId}/cancel`, { reason: 'test' });
    expect(res).toEqual({ status: 200, body: { runId, stopped: [runId] } });
    await new Promise((r) => setTimeout(r, 400));
    const actor = await runtime.store.getActor(runId);
    expect(actor).toMatchObject({ status: 'stopped', seq: 2, stateValue: '"tick1"' });
    const history = await runtime.store.history(runId);
    expect(history.map((h) => h.eventType)).toEqual(['xstate.init', 'spine.run.cancelled']);
    expect((await postJson(server, `/api/runs/${runId}/cancel`, {})).status).toBe(409);
  });

  it('forks a run from a past step: history copied up to it, timers re-created, and the fork runs on alone', async () => {
    const { runtime, server } = await setup({ tickMs: 100 });
    const { runId } = await runtime.startRun('ticker', { input: { label: 'orig' } });
    await until(() => runtime.store.getActor(runId), (a) => a?.stateValue === '"waiting"');
    const client = await Client.open(server);
    const reply = await client.request({ type: 'fork', runId, seq: 2 });
    expect(reply.ok).toBe(true);
    const fork = (reply as { result: { runId: string; steps: number; timers: number; forkedFrom: unknown } }).result;
    expect(fork).toMatchObject({ steps: 3, timers: 1, forkedFrom: { runId, actorId: runId, seq: 2 } });
    const history = await runtime.store.history(fork.runId);
    expect(history.slice(0, 3).map((h) => [h.seq, h.eventType, h.stateValue])).toEqual([
      [1, 'xstate.init', '"tick1"'],
      [2, 'xstate.after.100.ticker.tick1', '"tick2"'],
      [3, 'spine.run.forked', '"tick2"'],
    ]);
    const forked = await until(() => runtime.store.getActor(fork.runId), (a) => a?.stateValue === '"waiting"');
    expect(forked).toMatchObject({ seq: 5, runId: fork.runId, parentId: null });
    expect(JSON.parse(forked!.snapshot!).context).toMatchObject({ label: 'orig' });
    expect(await runtime.store.getActor(runId)).toMatchObject({ stateValue: '"waiting"', seq: 4 });
  });

  it('forks a supervisor with its child agents: a child not yet started starts afresh, a started one resumes with its timers', async () => {
    const { runtime, server } = await setup();
    const { runId } = await runtime.startRun('team');
    await until(() => runtime.store.getActor(`${runId}/helper`), (a) => a?.stateValue === '"ready"');

    // At the supervisor's first step the child was spawned but had not started.
    const early = await postJson<{ runId: string; actors: number }>(server, `/api/runs/${runId}/fork`, { seq: 1 });
    expect(early).toMatchObject({ status: 201, body: { actors: 2 } });
    const earlyChild = await until(() => runtime.store.getActor(`${early.body.runId}/helper`), (a) => a?.stateValue === '"ready"');
    expect(earlyChild).toMatchObject({ parentId: early.body.runId, childKey: 'helper', runId: early.body.runId });

    // At the child's first step it was busy with a pending timer: the fork re-creates it.
    const late = await postJson<{ runId: string; timers: number }>(server, `/api/runs/${runId}/fork`, { actorId: `${runId}/helper`, seq: 1 });
    expect(late).toMatchObject({ status: 201, body: { timers: 1 } });
    await until(() => runtime.store.getActor(`${late.body.runId}/helper`), (a) => a?.stateValue === '"ready"');
    await runtime.send(`${late.body.runId}/helper`, { type: 'helper.finish' });
    const done = await until(() => runtime.store.getActor(late.body.runId), (a) => a?.status === 'done');
    expect(JSON.parse(done!.output!)).toEqual({ result: { did: 'sweep' } });
    // The source run is untouched.
    expect(await runtime.store.getActor(runId)).toMatchObject({ status: 'active', stateValue: '"working"' });
  });

  it('retries a failed activity by forking before the failure was applied, which calls the activity again', async () => {
    const { runtime, server, failures } = await setup({ failures: { remaining: 1, calls: 0 } });
    const { runId } = await runtime.startRun('payment');
    await until(() => runtime.store.getActor(runId), (a) => a?.stateValue === '"declined"');
    const res = await postJson<{ mode: string; runId: string; jobs: number }>(server, `/api/runs/${runId}/retry`, {});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ mode: 'fork', jobs: 1 });
    const retried = await until(() => runtime.store.getActor(res.body.runId), (a) => a?.status === 'done');
    expect(retried).toMatchObject({ stateValue: '"paid"' });
    expect(failures.calls).toBe(2);
    const nothing = await postJson<{ error: { code: string } }>(server, `/api/runs/${res.body.runId}/retry`, {});
    expect(nothing).toMatchObject({ status: 409, body: { error: { code: 'nothing_to_retry' } } });
  });
});

describe('studio server: security', () => {
  it('refuses to listen on a non-loopback address without a token', async () => {
    const store = await SqliteStore.open(tempDbPath());
    cleanups.push(() => store.close());
    const saved = process.env.SPINE_TOKEN;
    delete process.env.SPINE_TOKEN;
    try {
      await expect(startServer({ store, host: '0.0.0.0' })).rejects.toMatchObject({ code: 'token_required', message: expect.stringContaining('SPINE_TOKEN') });
    } finally {
      if (saved !== undefined) process.env.SPINE_TOKEN = saved;
    }
  });

  it('on a non-loopback address, refuses requests and upgrades without the token', async () => {
    const { server } = await setup({ host: '0.0.0.0', token: 'sesame' });
    expect((await fetch(`${server.url}/api/health`)).status).toBe(401);
    expect((await fetch(`${server.url}/api/health`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${server.url}/api/health`, { headers: { authorization: 'Bearer sesame' } })).status).toBe(200);
    await expect(Client.open(server)).rejects.toThrow(/401/);
    const client = await Client.open(server, { authorization: 'Bearer sesame' });
    expect((await client.waitFor((m) => m.type === 'hello')).type).toBe('hello');
    // The studio page moves a ?token= into an HTTP-only cookie.
    const page = await fetch(`${server.url}/?token=sesame`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('set-cookie')).toContain('spine_token=sesame; HttpOnly');
  });

  it('refuses a WebSocket upgrade or a POST from a foreign Origin, and a rebound Host', async () => {
    const { server } = await setup();
    await expect(Client.open(server, { origin: 'http://evil.example' })).rejects.toThrow(/403/);
    const same = await Client.open(server, { origin: server.url });
    expect((await same.waitFor((m) => m.type === 'hello')).type).toBe('hello');
    const post = await postJson<{ error: { code: string } }>(server, '/api/runs', { machine: 'ticker' }, { origin: 'http://evil.example' });
    expect(post).toMatchObject({ status: 403, body: { error: { code: 'forbidden_origin' } } });
    // fetch may not set Host; a raw request can, as a DNS-rebound page's would arrive.
    const rebound = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/api/runs', headers: { host: `evil.example:${server.port}` } }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ error: { code: 'forbidden_host' } });
  });
});
