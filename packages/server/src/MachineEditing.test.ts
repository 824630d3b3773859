import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, MachineRegistry, versionOf, type MachineDefinition } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import type { ErrorJson, MachineJson, MoveActorJson, SaveMachineResult, ServerMessage } from './protocol.js';
import { startServer } from './startServer.js';
import { tempDbPath, tickerMachine } from './testing/machines.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Hand-formatted, as people keep machines in git: the server must keep this formatting.
const TICKER_TEXT = `{
  "id": "ticker",
  "initial": "tick1",
  "on": { "ticker.poke": { "actions": "countPoke" } },
  "states": {
    "tick1": { "after": { "100": "tick2" } },
    "tick2": { "after": { "100": "tick3" } },
    "tick3": { "after": { "100": "waiting" } },
    "waiting": { "on": { "ticker.resume": { "target": "tick4", "actions": "saveNote" } } },
    "tick4": { "after": { "100": "finished" } },
    "finished": { "type": "final" }
  }
}
`;

async function setup(options: { params?: NonNullable<MachineDefinition['schemas']['params']> } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'spine-machines-'));
  writeFileSync(join(dir, 'ticker.machine.json'), TICKER_TEXT);
  writeFileSync(join(dir, 'ticker.ts'), '// implementations are registered by the test\n');
  const base = tickerMachine(100);
  const ticker = { ...base, config: JSON.parse(TICKER_TEXT), schemas: { ...base.schemas, ...(options.params ? { params: options.params } : {}) } };
  const registry = new MachineRegistry();
  registry.register(ticker);
  const store = await SqliteStore.open(tempDbPath());
  const runtime = createRuntime({ store, machines: registry, pollIntervalMs: 20 });
  await runtime.start();
  const server = await startServer({ store, runtime, studioDir: '/nonexistent', machinesDir: dir });
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  cleanups.push(async () => {
    ws.close();
    await server.close();
    await runtime.stop();
    await store.close();
  });
  let n = 0;
  const command = <T>(body: Record<string, unknown>) =>
    new Promise<{ ok: true; result: T } | { ok: false; error: ErrorJson }>((resolve) => {
      const id = `t${++n}`;
      const onMessage = (data: WebSocket.RawData) => {
        const message = JSON.parse(String(data)) as ServerMessage;
        if (message.type === 'reply' && message.id === id) {
          ws.off('message', onMessage);
          resolve(message.ok ? { ok: true, result: message.result as T } : { ok: false, error: message.error });
        }
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ ...body, id }));
    });
  const machines = async () => ((await (await fetch(`${server.url}/api/machines`)).json()) as { machines: MachineJson[] }).machines;
  return { dir, registry, store, runtime, server, command, machines, file: join(dir, 'ticker.machine.json') };
}

const withReview = (config: any) => {
  const edited = structuredClone(config);
  edited.states.waiting.on['ticker.resume'].target = 'review';
  edited.states.review = { after: { 100: 'tick4' } };
  return edited;
};

describe('machine editing over the WebSocket', () => {
  it('lists each machine as its file holds it, with what its implementation provides', async () => {
    const { machines } = await setup();
    const ticker = (await machines()).find((m) => m.name === 'ticker')!;
    expect(Object.keys(ticker.source!.config!)).toEqual(['id', 'initial', 'on', 'states']);
    expect(ticker.source).toMatchObject({ file: 'ticker.machine.json', version: versionOf(JSON.parse(TICKER_TEXT)), layout: { positions: {} }, error: null });
    expect(ticker.source!.implementation).toMatchObject({ actions: [{ name: 'countPoke', kind: 'assign' }, { name: 'saveNote', kind: 'assign' }], events: ['ticker.poke', 'ticker.resume'] });
    expect(ticker.source!.needsImplementation).toEqual({ actions: [], guards: [], delays: [], activities: [], events: [] });
  });

  it('saves an unchanged machine back byte-identical, as the same version', async () => {
    const { command, file } = await setup();
    const reply = await command<SaveMachineResult>({ type: 'saveMachine', machine: 'ticker', config: JSON.parse(TICKER_TEXT), baseVersion: versionOf(JSON.parse(TICKER_TEXT)) });
    expect(reply).toMatchObject({ ok: true, result: { changed: false, version: versionOf(JSON.parse(TICKER_TEXT)) } });
    expect(readFileSync(file, 'utf8')).toBe(TICKER_TEXT);
    const withLayout = await command<SaveMachineResult>({ type: 'saveMachine', machine: 'ticker', config: JSON.parse(TICKER_TEXT), layout: { positions: {} } });
    expect(withLayout).toMatchObject({ ok: true, result: { changed: false, layoutChanged: false } });
    expect(existsSync(file.replace('.machine.json', '.layout.json'))).toBe(false);
  });

  it('refuses an unknown action and an unreachable state, naming the element, and writes nothing', async () => {
    const { command, file } = await setup();
    const config = JSON.parse(TICKER_TEXT);
    config.states.tick1.after['100'] = { target: 'tick2', actions: 'launchRockets' };
    config.states.orphan = { type: 'final' };
    const reply = await command({ type: 'saveMachine', machine: 'ticker', config });
    expect(reply.ok).toBe(false);
    const error = (reply as { error: ErrorJson }).error;
    expect(error.code).toBe('invalid_machine');
    expect(error.message).toContain("states.tick1.after.100.actions: unknown action 'launchRockets'");
    expect(error.message).toContain("states.orphan: state 'orphan' is unreachable");
    expect(error.issues!.map((i) => [i.rule, i.element])).toEqual([
      ['unknown_action', { state: ['tick1'], transition: { source: 'after', key: '100', index: 0 } }],
      ['unreachable', { state: ['orphan'] }],
    ]);
    expect(readFileSync(file, 'utf8')).toBe(TICKER_TEXT);
  });

  it('refuses the same over REST', async () => {
    const { server } = await setup();
    const config = JSON.parse(TICKER_TEXT);
    config.states.waiting.on['ticker.typo'] = 'finished';
    const res = await fetch(`${server.url}/api/machines/ticker`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config }) });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: ErrorJson }).error.message).toContain("event 'ticker.typo' is not in the machine's event schemas");
  });

  it('writes an edit in the file\'s own formatting and registers a new version for new runs, while a running actor finishes on its own', async () => {
    const { command, file, runtime, store } = await setup();
    const before = await runtime.startRun('ticker');
    const edited = withReview(JSON.parse(TICKER_TEXT));
    const reply = await command<SaveMachineResult>({ type: 'saveMachine', machine: 'ticker', config: edited, layout: { positions: { review: { x: 10, y: 20 } } }, baseVersion: before.version });
    expect(reply).toMatchObject({ ok: true, result: { changed: true, layoutChanged: true, previousVersion: before.version, version: versionOf(edited), runnable: true } });
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('    "waiting": { "on": { "ticker.resume": { "target": "review", "actions": "saveNote" } } },\n');
    expect(text).toContain('    "finished": { "type": "final" },\n    "review": {\n      "after": {\n        "100": "tick4"\n      }\n    }\n');
    expect(JSON.parse(readFileSync(file.replace('.machine.json', '.layout.json'), 'utf8'))).toEqual({ positions: { review: { x: 10, y: 20 } } });

    const after = await runtime.startRun('ticker');
    expect(after.version).toBe(versionOf(edited));
    for (const { runId } of [before, after]) {
      expect(await runtime.waitForRun(runId, { horizonMs: 1000 })).toMatchObject({ status: 'waiting', state: 'waiting' });
      await runtime.send(runId, { type: 'ticker.resume', note: 'go' });
      expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done' });
    }
    const states = async (runId: string) => (await store.history(runId)).map((h) => JSON.parse(h.stateValue) as string);
    expect(await states(before.runId)).not.toContain('review');
    expect(await states(after.runId)).toContain('review');
    expect(new Set((await store.history(before.runId)).map((h) => h.version))).toEqual(new Set([before.version]));

    const stale = await command({ type: 'saveMachine', machine: 'ticker', config: JSON.parse(TICKER_TEXT), baseVersion: before.version });
    expect(stale).toMatchObject({ ok: false, error: { code: 'conflict' } });
  });

  it('moves a running actor to the new version only when its state exists there', async () => {
    const { command, runtime } = await setup();
    const { runId, version } = await runtime.startRun('ticker');
    await runtime.waitForRun(runId, { horizonMs: 1000 });
    const edited = withReview(JSON.parse(TICKER_TEXT));
    await command({ type: 'saveMachine', machine: 'ticker', config: edited });
    const moved = await command<MoveActorJson>({ type: 'moveActor', actorId: runId });
    expect(moved).toEqual({ ok: true, result: { actorId: runId, machine: 'ticker', from: version, to: versionOf(edited), state: 'waiting', moved: true } });

    const renamed = structuredClone(edited);
    renamed.states.paused = renamed.states.waiting;
    delete renamed.states.waiting;
    renamed.states.tick3.after['100'] = 'paused';
    await command({ type: 'saveMachine', machine: 'ticker', config: renamed });
    const refused = await command({ type: 'moveActor', actorId: runId });
    expect(refused).toMatchObject({ ok: false, error: { code: 'incompatible_version' } });
    expect((refused as { error: ErrorJson }).error.message).toContain("its current state 'waiting' does not exist in that version");
  });

  it('offers action params from the implementation and refuses params that do not match them', async () => {
    const { command, machines } = await setup({ params: { actions: { countPoke: z.object({ by: z.number().int() }).optional() } } });
    const ticker = (await machines()).find((m) => m.name === 'ticker')!;
    expect(ticker.source!.implementation!.actions[0]).toMatchObject({ name: 'countPoke', params: { type: 'object', properties: { by: { type: 'integer' } } } });
    const config = JSON.parse(TICKER_TEXT);
    config.on['ticker.poke'].actions = { type: 'countPoke', params: { by: 'two' } };
    const refused = await command({ type: 'saveMachine', machine: 'ticker', config });
    expect(refused).toMatchObject({ ok: false, error: { code: 'invalid_machine', issues: [{ rule: 'bad_params', element: { state: [], transition: { source: 'on', key: 'ticker.poke', index: 0 } } }] } });
    expect((refused as { error: ErrorJson }).error.message).toContain("params of action 'countPoke' do not match its schema: by: ");
    config.on['ticker.poke'].actions = { type: 'countPoke', params: { by: 2 } };
    expect(await command({ type: 'saveMachine', machine: 'ticker', config })).toMatchObject({ ok: true, result: { changed: true } });
  });

  it('creates a machine from scratch with stub implementations and says which names need code', async () => {
    const { command, dir, machines } = await setup();
    const config = {
      id: 'triage',
      initial: 'waiting',
      states: {
        waiting: { on: { 'ticket.opened': { target: 'classifying', actions: 'remember' } } },
        classifying: { invoke: { id: 'classify', src: 'classify', onDone: 'done', onError: 'done' }, meta: { risk: 'low' } },
        done: { type: 'final' },
      },
    };
    const reply = await command<SaveMachineResult>({ type: 'saveMachine', machine: 'triage', config, baseVersion: null });
    expect(reply).toMatchObject({
      ok: true,
      result: { created: true, runnable: false, scaffold: 'triage.ts', needsImplementation: { actions: ['remember'], activities: ['classify'], events: ['ticket.opened'] } },
    });
    expect(JSON.parse(readFileSync(join(dir, 'triage.machine.json'), 'utf8'))).toEqual(config);
    expect(readFileSync(join(dir, 'triage.ts'), 'utf8')).toContain(`"classify": defineActivity(`);
    expect((await machines()).find((m) => m.name === 'triage')).toMatchObject({ runnable: false, source: { implementation: null } });
    expect(await command({ type: 'saveMachine', machine: 'triage', config, baseVersion: null })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(existsSync(join(dir, 'triage.layout.json'))).toBe(false);
  });
});
