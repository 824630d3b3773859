import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLlmEnvironment, modelActivity, readBreakerStates, restoreBreakers, retryPolicies, type LlmEnvironment } from '@spine/llm';
import { createRuntime, defineMachine, type Runtime } from '@spine/runtime';
import { startScriptedModelServer, type ScriptedModelServer } from '@spine/scripted-model';
import { SqliteStore } from '@spine/store-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, spawnSpine } from './support/spawnSpine.js';

// A provider's circuit breaker opens after repeated failures; a host that restarts (a new store
// handle on the same file, a new environment, as a new process would have) must not forget it and
// hammer the failing provider again.

const BREAKER = { failureThreshold: 2, coolDownMs: 60_000 };
let dir = '';
let db = '';
let model: ScriptedModelServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spine-breaker-'));
  db = join(dir, 'spine.db');
  model = await startScriptedModelServer({ script: [{ match: { lastUser: 'ping' }, fault: { kind: 'server_error' } }] });
});
afterAll(async () => {
  await model?.close();
  rmSync(dir, { recursive: true, force: true });
});

function host(llm: LlmEnvironment) {
  return defineMachine({
    name: 'pinger',
    config: { id: 'pinger', initial: 'calling', states: { calling: { invoke: { id: 'model', src: 'ping', onDone: 'done', onError: 'failed' } }, done: { type: 'final' }, failed: { type: 'final' } } },
    schemas: {},
    activities: { ping: modelActivity({ agent: 'pinger', llm, model: 'gpt-4o-mini', request: () => ({ messages: [{ role: 'user', content: 'ping' }] }) }) },
  });
}

function environment(): LlmEnvironment {
  return createLlmEnvironment({
    env: { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'none' },
    onProvider: () => {},
    breaker: BREAKER,
    policies: retryPolicies({ transient: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 10 } }),
  });
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('circuit breakers across a restart', () => {
  it('stay open when the host restarts: no request reaches the failing provider until the cool-down ends', async () => {
    // First host: two server errors in a row open the provider's breaker; the next attempt is held back.
    const first = await SqliteStore.open(db);
    const llm1 = environment();
    const runtime1: Runtime = createRuntime({ store: first, machines: [host(llm1)] });
    await runtime1.start();
    const { runId } = await runtime1.startRun('pinger');
    await until(async () => (await first.listJobs({ runId })).some((job) => job.journal.includes('"circuit_open"')), 'the breaker to open');
    const breakerName = [...llm1.breakers().keys()][0]!;
    expect(llm1.breaker(breakerName).state).toBe('open');
    const requestsBefore = model.requests.length;
    expect(requestsBefore).toBe(2);
    await runtime1.stop();
    await first.close();

    // Second host on the same file: a fresh environment knows nothing until it is restored.
    const second = await SqliteStore.open(db);
    try {
      const llm2 = environment();
      expect(llm2.breakers().size).toBe(0);
      const states = await readBreakerStates(second);
      expect(states).toEqual([expect.objectContaining({ name: breakerName, state: 'open', consecutiveFailures: 2 })]);
      expect(states[0]!.openedAt).toBeGreaterThan(0);

      const restored = await restoreBreakers(second);
      expect(restored.map((s) => s.name)).toEqual([breakerName]);
      expect(llm2.breaker(breakerName).state).toBe('open');
      expect(llm2.breaker(breakerName).retryAfterMs()).toBeGreaterThan(50_000);
      // An environment created after the restore (a machine file loaded later) starts open as well.
      expect(environment().breaker(breakerName).state).toBe('open');

      // A new run on the restarted host is held back by the breaker: the provider sees nothing.
      const runtime2 = createRuntime({ store: second, machines: [host(llm2)] });
      await runtime2.start();
      const next = await runtime2.startRun('pinger');
      await until(async () => (await second.listJobs({ runId: next.runId })).some((job) => job.journal.includes('"circuit_open"')), 'the new run to meet the open breaker');
      expect(model.requests.length).toBe(requestsBefore);
      await runtime2.stop();
    } finally {
      await second.close();
    }
  });

  it('stay open across real `spine run` processes: the second run does not call the provider the first one found failing', async () => {
    const app = mkdtempSync(join(tmpdir(), 'spine-breaker-cli-'));
    const failing = await startScriptedModelServer({ script: [{ match: { lastUser: 'Greet' }, fault: { kind: 'server_error' } }] });
    try {
      cpSync(join(repoRoot, 'docs/first-agent/machines'), join(app, 'machines'), { recursive: true });
      symlinkSync(join(repoRoot, 'node_modules'), join(app, 'node_modules'));
      writeFileSync(join(app, 'package.json'), '{ "type": "module" }\n');
      const env = { OPENAI_BASE_URL: failing.url, OPENAI_API_KEY: 'none' };
      const args = ['run', 'greeter', '--input', '{"name":"Ada"}', '--db', join(app, 'spine.db'), '--json'];

      // Five server errors in a row: the run gives up and the provider's breaker (5 in a row) opens.
      const first = await spawnSpine(args, { cwd: app, env });
      expect(JSON.parse(first.stdout)).toMatchObject({ status: 'done', output: { greeting: null, error: expect.stringMatching(/server/i) } });
      expect(failing.requests).toHaveLength(5);

      // A new process: the breaker is restored open, so the call waits for its cool-down unsent.
      const second = await spawnSpine([...args, '--wait-timers', '0'], { cwd: app, env });
      expect(second.code, second.stderr).toBe(3);
      expect(failing.requests).toHaveLength(5);
      const shown = await spawnSpine(['show', (JSON.parse(second.stdout) as { runId: string }).runId, '--db', join(app, 'spine.db'), '--json'], { cwd: app });
      expect((JSON.parse(shown.stdout) as { ledger: { calls: { decision: string }[] } }).ledger.calls.map((c) => c.decision)).toEqual(['circuit_open']);
    } finally {
      await failing.close();
      rmSync(app, { recursive: true, force: true });
    }
  }, 90_000);
});
