import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '@spine/llm';
import { maxDeadLetterChars, SpineError, DEFAULT_DEAD_LETTER_RETENTION, type DeadLetterRetention } from '@spine/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { deadLetterUsage, durableState, startFuzzTarget, type FuzzTarget } from './support/fuzzTarget.js';
import { repoRoot, spawnSpine } from './support/spawnSpine.js';
import { startSpineServe, type SpineServe } from './support/startSpineServe.js';

// Seeded fuzzing of every way input reaches Spine: `spine send` (its JSON parsing and
// `runtime.send`, the same entry point), the HTTP API and the studio's WebSocket
// commands. Every input is hostile by construction (malformed, oversized, deeply
// nested, prototype names, wrong types), so each must be refused with a clear error,
// the process must stay up, the store's actors, mailboxes and history must not move,
// and dead letters must stay within their retention. Most inputs run in this process
// through the real server and runtime; a sample goes to the real `spine` processes.
//
// Reproduce a failure with the seed it prints: SPINE_FUZZ_SEED=<seed> npx vitest run test/fuzz.test.ts
// More inputs: SPINE_FUZZ_INPUTS=100000.
const SEED = Number(process.env.SPINE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const INPUTS = Number(process.env.SPINE_FUZZ_INPUTS ?? 10_000);
const RETENTION: DeadLetterRetention = { ...DEFAULT_DEAD_LETTER_RETENTION, maxPerActor: 200, maxTotal: 500 };
console.log(`fuzz seed ${SEED} (${INPUTS} inputs); reproduce with SPINE_FUZZ_SEED=${SEED}`);

const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', '__lookupSetter__'];

/** Hostile inputs from one seed. */
class Hostile {
  readonly #rand: () => number;
  constructor(seed: number) {
    this.#rand = seededRandom(seed);
  }
  int(n: number): number {
    return Math.floor(this.#rand() * n);
  }
  chance(p: number): boolean {
    return this.#rand() < p;
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }
  string(max = 40): string {
    const alphabet = ['a', 'Z', '.', '-', '_', ' ', '\n', '\u0000', '"', "'", '\\', '/', '*', '$', '{', '}', 'é', '\u2028', '🙂', '<', '>', '`', ';'];
    let out = '';
    for (let i = this.int(max); i > 0; i--) out += this.pick(alphabet);
    return out;
  }
  /** Any JSON value of the wrong kind (never undefined). */
  wrong(): unknown {
    return this.pick<() => unknown>([
      () => null,
      () => this.int(1e6) - 5e5,
      () => this.#rand() * 1e308,
      () => true,
      () => [],
      () => [this.string(), this.int(9)],
      () => ({}),
      () => ({ [this.pick(PROTOTYPE_NAMES)]: this.string() }),
      () => this.string(),
      () => this.pick(PROTOTYPE_NAMES),
    ])();
  }
  /** An event type no machine accepts, or of the wrong kind. */
  badType(): unknown {
    return this.pick<() => unknown>([
      () => this.pick(PROTOTYPE_NAMES),
      () => this.wrong(),
      () => this.string(),
      () => `gate.open${this.pick(['\n', ' ', '*', '.', '()', '\u0000'])}`,
      () => `${this.pick(['xstate.', 'spine.', 'done.', 'error.'])}${this.string(10)}`,
      () => 'x'.repeat(129 + this.int(400)),
      () => '',
      () => 'gate.close',
    ])();
  }
  /** A `gate.open` payload that fails its schema (wrong types, bounds, extra keys, prototype keys). */
  badPayload(): Record<string, unknown> {
    return this.pick<() => Record<string, unknown>>([
      () => ({}),
      () => ({ note: this.pick([null, 1, true, [], {}, ['ok']]), count: 1 }),
      () => ({ note: 'ok', count: this.pick([-1, 11, 1.5, '1', null, [], {}]) }),
      () => ({ note: '', count: 1 }),
      () => ({ note: 'x'.repeat(51 + this.int(200)), count: 1 }),
      () => ({ note: 'ok', count: 1, [this.pick(PROTOTYPE_NAMES)]: this.wrong() }),
      () => ({ note: 'ok', count: 1, extra: this.wrong() }),
      () => JSON.parse(`{"note":"ok","count":1,"__proto__":{"polluted":true}}`) as Record<string, unknown>,
    ])();
  }
  /** The JSON text of a value nested deeper than the limit (built as text). */
  deepText(): string {
    const depth = 65 + this.int(this.chance(0.1) ? 30_000 : 500);
    const [open, close] = this.chance(0.5) ? ['{"a":', '}'] : ['[', ']'];
    return `{"type":"gate.open","note":"ok","count":1,"nested":${open.repeat(depth)}1${close.repeat(depth)}}`;
  }
  /** Text that is not JSON, or not a JSON object. */
  malformedText(): string {
    return this.pick<() => string>([
      () => '',
      () => '{',
      () => '{"type":"gate.open",}',
      () => "{'type':'gate.open'}",
      () => '{"type": NaN}',
      () => `{"type":"${this.string()}`,
      () => this.string(80),
      () => String.fromCharCode(...Array.from({ length: 40 }, () => this.int(256))),
      () => 'null',
      () => '[1,2,3]',
      () => '"gate.open"',
      () => '1e999999',
    ])();
  }
  /** One hostile event as the text a user would pass to `spine send` or put in a body. */
  eventText(): string {
    const kind = this.int(100);
    if (kind < 15) return this.malformedText();
    if (kind < 25) return this.deepText();
    if (kind < 27) return JSON.stringify({ type: 'gate.open', note: 'x'.repeat(1_048_577 + this.int(1000)), count: 1 }); // over maxEventBytes
    if (kind < 60) return JSON.stringify({ type: this.badType(), ...(this.chance(0.5) ? { note: 'ok', count: 1 } : {}) });
    if (kind < 95) return JSON.stringify({ type: 'gate.open', ...this.badPayload() });
    return JSON.stringify(this.wrong());
  }
  /** A hostile WebSocket command (never a valid one). */
  command(runId: string): string {
    const kind = this.int(100);
    if (kind < 10) return this.malformedText();
    const id = this.chance(0.9) ? `f${this.int(1e9)}` : this.wrong();
    const pick = this.pick(['send', 'send', 'send', 'start', 'cancel', 'retry', 'fork', 'approve', 'reject', 'saveMachine', 'moveActor', 'subscribe', 'nope', this.pick(PROTOTYPE_NAMES)]);
    const body: Record<string, unknown> = { type: pick, id };
    switch (pick) {
      case 'send':
        if (this.chance(0.2)) body.actorId = this.chance(0.5) ? this.wrong() : this.pick(PROTOTYPE_NAMES);
        else body.actorId = runId;
        if (this.chance(0.3)) return `{"type":"send","id":${JSON.stringify(id ?? null)},"actorId":${JSON.stringify(body.actorId)},"event":${this.deepText()}}`;
        body.event = this.chance(0.5) ? { type: this.badType() } : { type: 'gate.open', ...this.badPayload() };
        break;
      case 'start':
        body.machine = this.chance(0.5) ? this.pick(PROTOTYPE_NAMES) : 'gate';
        body.input = this.chance(0.5) ? this.wrong() : { label: this.wrong(), [this.pick(PROTOTYPE_NAMES)]: 1 };
        if (body.machine === 'gate' && (body.input === null || typeof body.input !== 'object' || Array.isArray(body.input))) body.input = { label: 1 };
        break;
      case 'cancel':
      case 'retry':
      case 'fork':
      case 'moveActor':
        body.runId = this.chance(0.5) ? this.pick(PROTOTYPE_NAMES) : this.wrong();
        body.actorId = this.pick(PROTOTYPE_NAMES);
        body.seq = this.wrong();
        break;
      case 'approve':
      case 'reject':
        body.approvalId = this.chance(0.5) ? this.pick(PROTOTYPE_NAMES) : this.wrong();
        body.by = this.chance(0.5) ? this.wrong() : '  ';
        break;
      case 'saveMachine':
        body.machine = this.chance(0.5) ? 'evil' : this.pick(PROTOTYPE_NAMES);
        body.baseVersion = null;
        body.config = { id: 'evil', initial: 'a', states: { a: { on: { [`${this.pick(PROTOTYPE_NAMES)}\n${this.string()}`]: 'b' } }, b: { type: 'final' } } };
        break;
      case 'subscribe':
        body.runId = this.wrong();
        body.historyLimit = -1;
        break;
      default:
        body.payload = this.wrong();
    }
    return JSON.stringify(body);
  }
  /** A hostile HTTP request: method, path and body text. */
  http(runId: string): { path: string; body: string; contentType: string } {
    const kind = this.int(100);
    const contentType = this.chance(0.03) ? 'text/plain' : 'application/json';
    if (kind < 55) return { path: `/api/runs/${runId}/events`, body: this.chance(0.2) ? this.malformedText() : `{"event":${this.eventText()}}`, contentType };
    if (kind < 70) return { path: '/api/runs', body: JSON.stringify({ machine: this.chance(0.5) ? this.pick(PROTOTYPE_NAMES) : this.wrong(), input: this.wrong() }), contentType };
    if (kind < 85) {
      const target = encodeURIComponent(this.pick([...PROTOTYPE_NAMES, this.string(20) || 'x']));
      return { path: `/api/runs/${target}/${this.pick(['cancel', 'retry', 'fork', 'events', 'move', 'constructor'])}`, body: JSON.stringify({ seq: this.wrong(), event: { type: this.badType() } }), contentType };
    }
    return { path: `/api/machines/${encodeURIComponent(this.pick(PROTOTYPE_NAMES))}`, body: JSON.stringify({ config: this.wrong(), baseVersion: null }), contentType };
  }
}

function post(agent: Agent, url: string, body: string, contentType: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': contentType } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Asserts an HTTP refusal: a 4xx with `{ error: { code, message } }`. */
function expectHttpRefusal(input: string, res: { status: number; text: string }) {
  const where = `seed ${SEED}, HTTP input ${input.slice(0, 200)}`;
  expect(res.status, where).toBeGreaterThanOrEqual(400);
  // 4xx, or 501 for a route this server was started without (no machines directory).
  expect(res.status < 500 || res.status === 501, `${where}: ${res.status} ${res.text.slice(0, 300)}`).toBe(true);
  const error = (JSON.parse(res.text) as { error?: { code?: unknown; message?: unknown } }).error;
  expect(typeof error?.code, where).toBe('string');
  expect(String(error?.message).length, where).toBeGreaterThan(10);
}

async function socket(url: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { maxPayload: 64 * 1024 * 1024 });
  const replies: { id: unknown; ok: boolean; error?: { code: string; message: string } }[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string };
    if (message.type === 'reply') {
      replies.push(message as never);
      wake?.();
    }
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return {
    /** Sends one command and resolves with its reply (replies come in order of completion; one in flight at a time). */
    async command(text: string) {
      const before = replies.length;
      ws.send(text);
      while (replies.length === before) await new Promise<void>((resolve) => (wake = resolve));
      return replies[before]!;
    },
    /** Sends several commands at once and resolves with all their replies, in order of completion. */
    async batch(texts: string[]) {
      const before = replies.length;
      for (const text of texts) ws.send(text);
      while (replies.length < before + texts.length) await new Promise<void>((resolve) => (wake = resolve));
      return replies.slice(before, before + texts.length);
    },
    close: () => ws.close(),
  };
}

function expectWsRefusal(input: string, reply: { ok: boolean; error?: { code: string; message: string } }) {
  const where = `seed ${SEED}, WebSocket input ${input.slice(0, 200)}`;
  expect(reply.ok, where).toBe(false);
  expect(typeof reply.error?.code, where).toBe('string');
  expect(reply.error?.code, `${where}: ${reply.error?.message}`).not.toBe('internal');
  expect(String(reply.error?.message).length, where).toBeGreaterThan(10);
}

describe(`fuzzing every input path (seed ${SEED})`, () => {
  let target: FuzzTarget | undefined;
  afterAll(() => target?.close());

  it(`refuses ${INPUTS} hostile inputs in-process, each clearly, with the store unchanged and dead letters within bounds`, { timeout: 180_000 }, async () => {
    target = await startFuzzTarget({ store: { deadLetters: RETENTION }, server: { refusals: { burst: 1e9, perSecond: 1 } } });
    const t = target;
    const before = durableState(t.db);
    const gen = new Hostile(SEED);
    const share = { send: Math.ceil(INPUTS * 0.4), http: Math.ceil(INPUTS * 0.25) };
    share.http = Math.min(share.http, INPUTS - share.send);
    const ws = INPUTS - share.send - share.http;

    // 1. `spine send`: its argument parsing (JSON.parse, as parseJsonArg does) and runtime.send.
    for (let i = 0; i < share.send; i++) {
      const text = gen.eventText();
      let event: unknown;
      try {
        event = JSON.parse(text);
      } catch {
        continue; // refused by the CLI before anything runs ("the event is not valid JSON")
      }
      const error = await t.runtime.send(t.runId, event, { source: 'cli' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const where = `seed ${SEED}, send input ${text.slice(0, 200)}`;
      expect(SpineError.is(error), `${where}: ${String(error)}`).toBe(true);
      expect(['invalid_event', 'payload_too_large'], where).toContain((error as SpineError).code);
    }

    // 2. The HTTP API, over eight keep-alive connections, eight requests in flight.
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    for (let i = 0; i < share.http; i += 8) {
      const batch = Array.from({ length: Math.min(8, share.http - i) }, () => gen.http(t.runId));
      const responses = await Promise.all(batch.map((input) => post(agent, `${t.server.url}${input.path}`, input.body, input.contentType)));
      responses.forEach((res, j) => expectHttpRefusal(`${batch[j]!.path} ${batch[j]!.body}`, res));
    }
    agent.destroy();

    // 3. WebSocket commands, 25 in flight on one connection.
    const client = await socket(t.server.url);
    for (let i = 0; i < ws; i += 25) {
      const batch = Array.from({ length: Math.min(25, ws - i) }, () => gen.command(t.runId));
      const replies = await client.batch(batch);
      expect(replies.length).toBe(batch.length);
      for (const reply of replies) expectWsRefusal(typeof reply.id === 'string' ? (batch.find((text) => text.includes(`"id":"${reply.id as string}"`)) ?? '(unknown)') : '(a command without a string id)', reply);
    }
    client.close();

    // The process is up and answers; nothing durable moved; dead letters are bounded.
    expect((await fetch(`${t.server.url}/api/health`)).status).toBe(200);
    expect(durableState(t.db)).toBe(before);
    const usage = deadLetterUsage(t.db);
    expect(usage.rows).toBeLessThanOrEqual(RETENTION.maxTotal);
    expect(usage.perActorMax).toBeLessThanOrEqual(RETENTION.maxPerActor);
    expect(usage.chars).toBeLessThanOrEqual(RETENTION.maxTotal * maxDeadLetterChars(RETENTION));
    expect(usage.rows).toBeGreaterThan(0);
  });

  it('refuses a sample of hostile inputs sent to the real `spine serve` and `spine send` processes, which stay up', { timeout: 120_000 }, async () => {
    const scratch = mkdtempSync(join(repoRoot, 'test', '.scratch-'));
    let serve: SpineServe | undefined;
    try {
      const machines = join(scratch, 'machines');
      mkdirSync(machines);
      writeFileSync(
        join(machines, 'gate.machine.json'),
        JSON.stringify({ id: 'gate', initial: 'waiting', states: { waiting: { on: { 'gate.open': 'open' } }, open: { type: 'final' } } }),
      );
      writeFileSync(
        join(machines, 'gate.ts'),
        "import type { MachineImplementation } from '@spine/runtime';\nimport { z } from 'zod';\nconst gate: MachineImplementation = { schemas: { input: z.strictObject({ label: z.string().max(20) }).optional(), events: { 'gate.open': z.strictObject({ note: z.string().min(1).max(50), count: z.number().int().min(0).max(10) }) } } };\nexport default gate;\n",
      );
      const db = join(mkdtempSync(join(tmpdir(), 'spine-fuzz-real-')), 'spine.db');
      const common = ['--db', db, '--machines', machines];
      const started = await spawnSpine(['run', 'gate', ...common, '--json', '--wait-timers', '0']);
      expect(started.code, started.stderr).toBe(3); // waiting for gate.open
      const runId = (JSON.parse(started.stdout.trim().split('\n').at(-1)!) as { runId: string }).runId;
      const before = durableState(db);

      serve = await startSpineServe(common);
      const gen = new Hostile(SEED + 1);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; i < 120; i++) {
        const input = gen.http(runId);
        // Past the default allowance (100 refusals), the connection is rate-limited: a refusal too.
        expectHttpRefusal(`${input.path} ${input.body}`, await post(agent, `${serve.url}${input.path}`, input.body, input.contentType));
      }
      agent.destroy();
      const client = await socket(serve.url);
      for (let i = 0; i < 120; i++) {
        const text = gen.command(runId);
        expectWsRefusal(text, await client.command(text));
      }
      client.close();
      expect(serve.alive()).toBe(true);
      expect((await fetch(`${serve.url}/api/health`)).status).toBe(200);
      expect(await serve.stop()).toBe(0);

      for (const text of [gen.deepText(), '{"type":"constructor","note":{"__proto__":{}}}']) {
        // Linux refuses one argument over 128 KiB (E2BIG): longer texts go through stdin, as a user's would.
        const viaStdin = Buffer.byteLength(text) > 100_000;
        const sent = await spawnSpine(['send', runId, viaStdin ? '-' : text, ...common], viaStdin ? { stdin: text } : {});
        expect(sent.code, `seed ${SEED}, spine send ${text.slice(0, 80)}: ${sent.stderr}`).toBe(2);
        expect(sent.stderr.trim().split('\n'), sent.stderr).toHaveLength(1);
      }
      expect(durableState(db)).toBe(before);
    } finally {
      await serve?.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
