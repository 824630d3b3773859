import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InspectionEvent, RunSummary, ServerMessage } from '@spine/server/protocol';
import type { StatelyInspectionEvent } from '@statelyai/inspect';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, spineBin } from './support/spawnSpine.js';

// The real @statelyai/inspect on both sides of a real `spine serve`: plain XState apps (their own
// node processes) send their actors with createWebSocketInspector, a createWebSocketReceiver (its
// own process) reads the feed, and the studio's own socket sees the apps' actors beside the durable runs.
const fixtures = join(repoRoot, 'test/fixtures/inspect');
const children: ChildProcess[] = [];

/** Runs an inspected XState app to its end. */
function runApp(url: string, which: 'light' | 'door'): Promise<string> {
  return new Promise((resolve, reject) => {
    const app = spawn(process.execPath, [join(fixtures, 'app.mjs'), url, which], { cwd: repoRoot, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(app);
    let out = '';
    app.stdout.on('data', (c) => (out += c));
    app.stderr.on('data', (c) => (out += c));
    app.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`the ${which} app exited ${code}: ${out}`))));
  });
}

/** Starts inspect's receiver on a URL; its events accumulate in the returned list. */
function startReceiver(url: string): StatelyInspectionEvent[] {
  const events: StatelyInspectionEvent[] = [];
  const receiver = spawn(process.execPath, [join(fixtures, 'receiver.mjs'), url], { cwd: repoRoot, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(receiver);
  let buffer = '';
  receiver.stdout.on('data', (chunk) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) if (line) events.push(JSON.parse(line) as StatelyInspectionEvent);
  });
  return events;
}

async function until<T>(probe: () => T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('spine serve as an XState inspector (@statelyai/inspect)', () => {
  let serve: ChildProcess;
  let base = '';
  let ws = '';
  const effects: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: (JSON.parse(body) as { step: number }).step })));
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => effects.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(join(tmpdir(), 'spine-inspect-'));
    serve = spawn(process.execPath, [spineBin, 'serve', '--port', '0', '--db', join(dir, 'spine.db'), '--machines', join(repoRoot, 'test/fixtures/crash-machines')], {
      cwd: repoRoot,
      env: { ...process.env, SPINE_DB: '', SPINE_TOKEN: '', SPINE_TEST_EFFECT_URL: `http://127.0.0.1:${(effects.address() as AddressInfo).port}/effect` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    serve.stdout!.on('data', (c) => (out += c));
    serve.stderr!.on('data', (c) => (out += c));
    base = await until(() => /Spine studio: (http:\/\/\S+)/.exec(out)?.[1], `spine serve to listen: ${out}`, 60_000);
    ws = base.replace('http://', 'ws://');
  }, 90_000);
  afterAll(() => {
    for (const child of children) child.kill();
    serve?.kill();
    effects.close();
  });

  it('shows any number of inspected apps live beside durable runs, to the studio and to inspect’s own receiver', async () => {
    // inspect's own receiver reads the feed: no Spine-specific subscribe.
    const received = startReceiver(`${ws}/inspect`);
    // The studio's socket, subscribed to everything.
    const studio = new WebSocket(`${ws}/ws`);
    const studioEvents: InspectionEvent[] = [];
    const replies: ServerMessage[] = [];
    studio.on('message', (data) => {
      const message = JSON.parse(String(data)) as ServerMessage;
      if (message.type === 'inspect') studioEvents.push(...message.events);
      if (message.type === 'reply') replies.push(message);
    });
    await new Promise((resolve) => studio.once('open', resolve));
    studio.send(JSON.stringify({ type: 'subscribe', id: 'all', all: true }));
    await until(() => replies.find((r) => r.type === 'reply' && r.id === 'all'), 'the studio subscription');
    await new Promise((r) => setTimeout(r, 1500)); // the receiver process starts and its socket opens

    // Two plain XState apps at once (both number their actors x:0, x:1, ...).
    const apps = Promise.all([runApp(`${ws}/inspect`, 'light'), runApp(`${ws}/inspect`, 'door')]);

    // A durable run, started through the same server.
    const started = await fetch(`${base}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ machine: 'steps20' }) });
    expect(started.status).toBe(201);
    const { runId } = (await started.json()) as { runId: string };

    await apps;
    // The studio lists both apps' root actors as runs, marked not durable, next to the durable run.
    const listed = await until(
      () => {
        const inspectedRuns = studioEvents.filter((e) => e.durable === false && e.type === '@xstate.snapshot');
        return new Set(inspectedRuns.map((e) => e.runId)).size >= 2 && studioEvents.some((e) => e.runId === runId && e.status === 'done');
      },
      'both apps and the durable run in the studio feed',
      60_000,
    );
    expect(listed).toBe(true);
    const { runs: all } = (await (await fetch(`${base}/api/runs`)).json()) as { runs: RunSummary[] };
    const inspectedRuns = all.filter((r) => r.durable === false);
    expect(inspectedRuns.map((r) => r.machine).sort()).toEqual(['door', 'light']);
    expect(new Set(inspectedRuns.map((r) => r.runId)).size).toBe(2);
    expect(all.find((r) => r.runId === runId)).toMatchObject({ machine: 'steps20', status: 'done' });
    expect(all.find((r) => r.runId === runId)?.durable).toBeUndefined();
    const doorRun = inspectedRuns.find((r) => r.machine === 'door')!;
    expect(doorRun).toMatchObject({ state: 'secured', actors: 2, status: 'active' });

    // The studio sees the door app's parent and child, their events and committed snapshots.
    const ofDoor = studioEvents.filter((e) => e.runId === doorRun.runId);
    const lockActor = ofDoor.find((e) => e.type === '@xstate.actor' && e.name === 'lock');
    expect(lockActor).toMatchObject({ durable: false, parentId: doorRun.runId });
    expect(JSON.parse((lockActor as { definition: string }).definition)).toMatchObject({ id: 'lock', initial: 'open' });
    expect(ofDoor.filter((e) => e.type === '@xstate.snapshot' && e.actorId === doorRun.runId).map((e) => (e as { snapshot: { value: unknown } }).snapshot.value)).toEqual(
      expect.arrayContaining(['closed', 'open', 'secured']),
    );
    expect(ofDoor.find((e) => e.type === '@xstate.event' && e.event.type === 'locked')).toMatchObject({ sourceId: lockActor!.actorId });

    // A run view opened later catches up from the server's memory.
    studio.send(JSON.stringify({ type: 'subscribe', id: 'door', runId: doorRun.runId }));
    const catchUp = await until(() => replies.find((r) => r.type === 'reply' && r.id === 'door'), 'the door catch-up');
    expect(catchUp).toMatchObject({ ok: true, result: { runId: doorRun.runId } });
    const detail = (await (await fetch(`${base}/api/runs/${encodeURIComponent(doorRun.runId)}`)).json()) as { run: RunSummary; actors: { machine: string }[]; jobs: unknown[] };
    expect(detail.run.durable).toBe(false);
    expect(detail.actors.map((a) => a.machine).sort()).toEqual(['door', 'lock']);

    // inspect's receiver got the apps' actors and the durable run, in inspect's own shapes.
    await until(() => received.some((e) => e.type === '@xstate.snapshot' && (e as { runId?: string }).runId === runId && e.snapshot.status === 'done'), 'the durable run at the receiver', 60_000);
    const lightRegistered = received.find((e) => e.type === '@xstate.actor' && e.name === 'light');
    expect(lightRegistered).toMatchObject({ _version: expect.any(String), sessionId: expect.stringMatching(/^app\d+\/x:0$/), snapshot: { status: 'active' } });
    expect(JSON.parse((lightRegistered as { definition: string }).definition)).toMatchObject({ id: 'light', states: { green: {}, yellow: {}, red: {} } });
    expect(received.find((e) => e.type === '@xstate.event' && e.sessionId === lightRegistered!.sessionId && e.event.type === 'timer')).toBeTruthy();
    const durableActor = received.find((e) => e.type === '@xstate.actor' && e.sessionId === runId);
    expect(durableActor).toMatchObject({ name: 'steps20', rootId: runId, snapshot: { status: 'active' } });
    expect(durableActor).not.toHaveProperty('parentId');
    expect(JSON.parse((durableActor as { definition: string }).definition)).toMatchObject({ id: 'steps20', initial: 's0' });
    expect(received.find((e) => e.type === '@xstate.event' && e.sessionId === runId && e.event.type === 'xstate.done.actor.effect0')).toMatchObject({ sourceId: `${runId}/effect0` });
    for (const event of received.filter((e) => e.type === '@xstate.snapshot')) expect(['active', 'done', 'error', 'stopped']).toContain(event.snapshot.status);
    // Only inspection events reach a receiver: no hello, batches or run summaries.
    expect(received.every((e) => typeof e.type === 'string' && e.type.startsWith('@xstate.') && typeof e._version === 'string')).toBe(true);

    studio.close();
  }, 120_000);

  it('takes an inspector pointed at the studio socket too, and refuses a malformed inspection event with the field named', async () => {
    const studio = new WebSocket(`${ws}/ws`);
    const messages: ServerMessage[] = [];
    studio.on('message', (data) => void messages.push(JSON.parse(String(data)) as ServerMessage));
    await new Promise((resolve) => studio.once('open', resolve));
    const before = ((await (await fetch(`${base}/api/runs`)).json()) as { runs: RunSummary[] }).runs.filter((r) => r.durable === false).length;
    await runApp(`${ws}/ws`, 'light');
    const { runs } = (await (await fetch(`${base}/api/runs`)).json()) as { runs: RunSummary[] };
    expect(runs.filter((r) => r.durable === false)).toHaveLength(before + 1);
    expect(runs.find((r) => r.durable === false && r.machine === 'light')).toMatchObject({ state: 'yellow', steps: expect.any(Number) });
    expect(messages.filter((m) => m.type === 'reply' && !m.ok)).toEqual([]); // no invalid_command for inspect's events
    studio.send(JSON.stringify({ type: '@xstate.snapshot', _version: '1', sessionId: 'x:9', id: 'bad' }));
    const refused = await until(() => messages.find((m) => m.type === 'reply' && !m.ok), 'the refusal');
    expect(refused).toMatchObject({ ok: false, error: { code: 'invalid_command', message: expect.stringContaining('snapshot') } });
    studio.close();
  }, 60_000);
});
