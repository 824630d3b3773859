import { closeSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpineError, validateEvent } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { deadLetterUsage, durableState, gateMachine, startFuzzTarget, type FuzzTarget } from './support/fuzzTarget.js';
import { spawnSpine } from './support/spawnSpine.js';

const targets: FuzzTarget[] = [];
afterEach(async () => {
  await Promise.all(targets.splice(0).map((t) => t.close()));
});
async function target(options: Parameters<typeof startFuzzTarget>[0] = {}) {
  const t = await startFuzzTarget(options);
  targets.push(t);
  return t;
}

const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'];

/** The JSON text of an event nested `depth` levels deep (built as text: JSON.stringify itself overflows at this depth). */
function deepText(depth: number): string {
  return `{"type":"gate.open","note":"x","count":1,"nested":${'{"a":'.repeat(depth)}{"leaf":true}${'}'.repeat(depth)}}`;
}

function post(agent: Agent, url: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function openSocket(url: string): Promise<{ command(body: Record<string, unknown>): Promise<any>; close(): void }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  const waiting = new Map<string, (reply: unknown) => void>();
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string; id?: string };
    if (message.type === 'reply' && message.id) waiting.get(message.id)?.(message);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let n = 0;
  return {
    command: (body) =>
      new Promise((resolve) => {
        const id = `c${++n}`;
        waiting.set(id, resolve);
        ws.send(JSON.stringify({ ...body, id }));
      }),
    close: () => ws.close(),
  };
}

describe('prototype-named event types', () => {
  it('are refused by validation as unknown types, never found on Object.prototype', () => {
    const definition = gateMachine();
    for (const type of PROTOTYPE_NAMES) {
      const issues = validateEvent(definition, { type });
      expect(issues, type).toHaveLength(1);
      expect(issues[0]!.path).toBe('type');
    }
  });

  it('are refused and dead-lettered by send, over HTTP (400, not 500) and over the WebSocket, leaving the run untouched', async () => {
    const t = await target();
    const before = durableState(t.db);
    for (const type of PROTOTYPE_NAMES) {
      const error = await t.runtime.send(t.runId, { type }).catch((e: unknown) => e);
      expect(SpineError.is(error) && error.code, type).toBe('invalid_event');
      const http = await fetch(`${t.server.url}/api/runs/${t.runId}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event: { type } }) });
      expect(http.status, type).toBe(400);
      expect(((await http.json()) as { error: { code: string } }).error.code).toBe('invalid_event');
    }
    const ws = await openSocket(t.server.url);
    for (const type of PROTOTYPE_NAMES) {
      const reply = await ws.command({ type: 'send', actorId: t.runId, event: { type } });
      expect(reply, type).toMatchObject({ ok: false, error: { code: 'invalid_event' } });
    }
    ws.close();
    expect(durableState(t.db)).toBe(before);
    expect(deadLetterUsage(t.db).rows).toBe(PROTOTYPE_NAMES.length * 3);
  });

  it('are refused by the real `spine` command with one line and exit 2, and a prototype-named command is unknown', async () => {
    const sent = await spawnSpine(['send', 'no-such-run', '{"type":"constructor"}', '--db', join(mkdtempSync(join(tmpdir(), 'spine-proto-')), 'x.db')]);
    expect(sent.code).toBe(2);
    const command = await spawnSpine(['constructor']);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain("unknown command 'constructor'");
    expect(command.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('refused input is bounded', () => {
  it('keeps a bounded preview of a refused event, the reason in full, and at most the per-actor and total caps', async () => {
    const t = await target({ store: { deadLetters: { maxPerActor: 20, maxTotal: 30, maxEventChars: 512 } } });
    const { runId: second } = await t.runtime.startRun('gate');
    const big = 'x'.repeat(100_000);
    for (let i = 0; i < 60; i++) {
      await t.runtime.send(i % 2 ? second : t.runId, { type: 'gate.open', note: big, count: i }).catch(() => {});
    }
    const usage = deadLetterUsage(t.db);
    expect(usage.rows).toBe(30);
    expect(usage.perActorMax).toBeLessThanOrEqual(20);
    const [letter] = await t.store.listDeadLetters(t.runId);
    expect(letter!.event.length).toBeLessThanOrEqual(512);
    expect(JSON.parse(letter!.event)).toMatchObject({ truncated: true, chars: expect.any(Number) });
    expect(letter!.reason).toContain('note');
    // Only the newest are kept.
    const letters = await t.store.listDeadLetters();
    expect(Math.max(...letters.map((l) => JSON.parse(l.event).chars as number))).toBeGreaterThan(100_000);
  });

  it('rate-limits refused commands per WebSocket connection and per HTTP connection', async () => {
    const t = await target({ server: { refusals: { burst: 20, perSecond: 1 } } });
    const ws = await openSocket(t.server.url);
    const replies = [];
    for (let i = 0; i < 40; i++) replies.push(await ws.command({ type: 'send', actorId: t.runId, event: { type: 'gate.open', note: '', count: -1 } }));
    const codes = replies.map((r) => r.error.code);
    expect(codes.slice(0, 20).every((c) => c === 'invalid_event')).toBe(true);
    expect(codes.slice(21).every((c) => c === 'rate_limited')).toBe(true);
    expect(replies.at(-1).error.message).toContain('Too many refused commands');
    ws.close();
    // Rate-limited commands are not even dead-lettered.
    expect(deadLetterUsage(t.db).rows).toBeLessThanOrEqual(21);
    // A fresh connection starts with its own allowance.
    const other = await openSocket(t.server.url);
    expect(await other.command({ type: 'send', actorId: t.runId, event: { type: 'nope' } })).toMatchObject({ error: { code: 'invalid_event' } });
    other.close();

    // Over HTTP, per keep-alive connection.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await post(agent, `${t.server.url}/api/runs/${t.runId}/events`, { event: { type: 'nope' } })).status);
    agent.destroy();
    expect(statuses.slice(0, 20).every((s) => s === 400)).toBe(true);
    expect(statuses.slice(21).every((s) => s === 429)).toBe(true);
  });
});

describe('messages', () => {
  it('says a 20,000-deep event is too deep, with the limit, in-process, over HTTP and from the real CLI', async () => {
    const t = await target();
    const text = deepText(20_000);
    const error = await t.runtime.send(t.runId, JSON.parse(text)).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/nested more than 64 levels deep.*the limit is 64/);
    const http = await fetch(`${t.server.url}/api/runs/${t.runId}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"event":${text}}` });
    expect(http.status).toBeLessThan(500);
    expect(((await http.json()) as { error: { message: string } }).error.message).toMatch(/deep/);
    await t.close();
    targets.splice(0);
    const cli = await spawnSpine(['send', t.runId, text, '--db', t.db, '--machines', join(tmpdir(), 'nonexistent-machines')]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).not.toMatch(/^\s+at /m);
  });

  it('says a corrupt header is corrupt, in one line with no stack', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spine-header-'));
    const db = join(dir, 'spine.db');
    const store = await SqliteStore.open(db);
    await store.close();
    const fd = openSync(db, 'r+');
    writeSync(fd, Buffer.from([0x00, 0x03]), 0, 2, 16); // page size 3: no valid SQLite file has it
    closeSync(fd);
    const runs = await spawnSpine(['runs', '--db', db]);
    expect(runs.code).not.toBe(0);
    expect(runs.stderr.trim().split('\n')).toHaveLength(1);
    expect(runs.stderr).toMatch(/corrupt/);
    expect(runs.stderr).not.toMatch(/^\s+at /m);
  });
});
