import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLlmEnvironment, modelActivity, type Budget, type ModelStep } from '@spine/llm';
import { createRuntime, defineMachine, type Runtime } from '@spine/runtime';
import { startScriptedModelServer, type ScriptedModelServer } from '@spine/scripted-model';
import { startServer } from '@spine/server';
import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { assign } from 'xstate';
import { z } from 'zod';
import { spawnSpine } from './support/spawnSpine.js';

// A model with no price (no SPINE_PRICES entry, not in the genai-prices catalog) is never silently
// $0: each call says so in the journal, `spine show`, the audit log and the studio's API, and a
// dollar budget on it refuses the call instead of spending unmetered.

const UNPRICED = 'local-llama-3-70b';

interface Harness {
  runtime: Runtime;
  store: SqliteStore;
  model: ScriptedModelServer;
  db: string;
  close(): Promise<void>;
}

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function harness(budget: Budget | undefined): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'spine-unpriced-'));
  const db = join(dir, 'spine.db');
  const model = await startScriptedModelServer({ script: [{ match: { lastUser: 'Summarise' }, reply: { content: 'A summary.' } }] });
  const llm = createLlmEnvironment({ env: { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'none' }, onProvider: () => {} });
  const summariser = defineMachine({
    name: 'summariser',
    config: {
      id: 'summariser',
      initial: 'working',
      states: {
        working: { invoke: { id: 'model', src: 'summarise', onDone: { target: 'done', actions: 'save' }, onError: { target: 'failed', actions: 'fail' } } },
        done: { type: 'final' },
        failed: { type: 'final' },
      },
    },
    schemas: { context: z.object({ text: z.string().nullable(), error: z.string().nullable() }) },
    context: () => ({ text: null, error: null }),
    actions: {
      save: assign(({ event }: { event: { output: ModelStep } }) => ({ text: event.output.text })),
      fail: assign(({ event }: { event: { error: { message?: string } } }) => ({ error: event.error.message ?? String(event.error) })),
    },
    output: ({ context }: { context: { text: string | null; error: string | null } }) => context,
    activities: {
      summarise: modelActivity({
        agent: 'summariser',
        llm,
        model: UNPRICED,
        request: () => ({ messages: [{ role: 'user', content: 'Summarise the report.' }], maxOutputTokens: 100, ...(budget ? { budget: { agent: budget } } : {}) }),
      }),
    },
  });
  const store = await SqliteStore.open(db);
  const runtime = createRuntime({ store, machines: [summariser] });
  await runtime.start();
  const h: Harness = {
    runtime,
    store,
    model,
    db,
    async close() {
      await runtime.stop();
      await store.close();
      await model.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  open.push(h);
  return h;
}

describe('a model with no price', () => {
  it('is reported by spine show, the audit log and the studio API when its call is made', async () => {
    const h = await harness(undefined);
    const { runId } = await h.runtime.startRun('summariser');
    expect(await h.runtime.waitForRun(runId)).toMatchObject({ status: 'done', output: { text: 'A summary.' } });
    expect(h.model.totals().completed).toBe(1);

    const audit = await h.store.listAudit({ runId });
    expect(audit.filter((a) => a.kind === 'model.unpriced').map((a) => JSON.parse(a.detail))).toEqual([
      expect.objectContaining({ agent: 'summariser', model: UNPRICED, callMade: true }),
    ]);

    const server = await startServer({ store: h.store, runtime: h.runtime });
    try {
      const runs = (await (await fetch(`${server.url}/api/runs`)).json()) as { runs: { runId: string; unpriced?: string[]; costUsd: number }[] };
      expect(runs.runs.find((r) => r.runId === runId)).toMatchObject({ unpriced: [UNPRICED], costUsd: 0 });
    } finally {
      await server.close();
    }

    const shown = await spawnSpine(['show', runId, '--db', h.db]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`UNPRICED: no price for ${UNPRICED}`);
    const json = await spawnSpine(['show', runId, '--db', h.db, '--json']);
    expect(JSON.parse(json.stdout).ledger.unpriced).toEqual([UNPRICED]);
  });

  it('under a dollar budget is refused before the call: the server sees no request and the audit log says why', async () => {
    const h = await harness({ maxUsd: 5 });
    const { runId } = await h.runtime.startRun('summariser');
    const outcome = await h.runtime.waitForRun(runId);
    expect(outcome).toMatchObject({ status: 'done', output: { text: null } });
    const error = (outcome as { output: { error: string } }).output.error;
    expect(error).toContain(`Model '${UNPRICED}' has no price`);
    expect(error).toContain('SPINE_PRICES');
    expect(h.model.requests).toHaveLength(0);

    const kinds = (await h.store.listAudit({ runId })).map((a) => [a.kind, JSON.parse(a.detail) as Record<string, unknown>] as const);
    expect(kinds.find(([kind]) => kind === 'budget.stopped')).toBeDefined();
    expect(kinds.find(([kind]) => kind === 'model.unpriced')?.[1]).toMatchObject({ model: UNPRICED, callMade: false });
  });

  it('under a token budget only is called and metered in tokens', async () => {
    const h = await harness({ maxTokens: 10_000 });
    const { runId } = await h.runtime.startRun('summariser');
    expect(await h.runtime.waitForRun(runId)).toMatchObject({ status: 'done', output: { text: 'A summary.' } });
    expect(h.model.totals().completed).toBe(1);
  });
});
