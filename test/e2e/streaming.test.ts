import { join } from 'node:path';
import { createLlmEnvironment, modelActivity, retryPolicies, type ModelStep } from '@spine/llm';
import { createRuntime, defineMachine } from '@spine/runtime';
import { startScriptedModelServer } from '@spine/scripted-model';
import { startServer } from '@spine/server';
import { SqliteStore } from '@spine/store-sqlite';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { assign } from 'xstate';
import { z } from 'zod';
import { ensureStudioBuilt, launchBrowser, ROOT, tempDb } from './support/spine.js';

// A model call streams its answer into the step inspector while it runs; the stream of its first
// attempt is cut off mid-answer (a dropped connection), so that partial is dropped, the retry
// streams again, and the committed result replaces the partial. The model has no price: its cost
// is flagged unknown in the run header and on the step, never shown as $0.

const UNPRICED = 'local-narrator-7b';
const ANSWER = Array.from({ length: 24 }, (_, i) => ['Durable', 'agents', 'resume', 'where', 'they', 'stopped'][i % 6]).join(' ') + '.';
const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a streaming model call in the studio, in Chromium', { timeout: 60_000 }, () => {
  it('shows the answer growing in the step inspector, drops a cut-off attempt, then shows the committed result, with an unpriced cost flagged', async () => {
    const studioDir = process.env.SPINE_STUDIO_DIR ?? (ensureStudioBuilt(), join(ROOT, 'apps/studio/dist'));
    let watch!: () => void;
    const watching = new Promise<void>((resolve) => (watch = resolve));
    const model = await startScriptedModelServer({
      chunkDelayMs: 70,
      script: [
        // The first call waits until the studio watches the run, then streams a few words and drops.
        { times: 1, respond: async () => (await watching, { kind: 'disconnect' as const, partial: 'A first attempt that never got to the end of its answer' }) },
        { reply: { content: ANSWER } },
      ],
    });
    cleanups.push(() => model.close());
    const llm = createLlmEnvironment({ env: { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'none' }, policies: retryPolicies({ transient: { baseDelayMs: 300, maxDelayMs: 300 } }), onProvider: () => {} });
    const narrator = defineMachine({
      name: 'narrator',
      config: { id: 'narrator', initial: 'writing', states: { writing: { invoke: { id: 'model', src: 'narrate', onDone: { target: 'done', actions: 'save' } } }, done: { type: 'final' } } },
      schemas: { context: z.object({ text: z.string().nullable() }) },
      context: () => ({ text: null }),
      actions: { save: assign(({ event }: { event: { output: ModelStep } }) => ({ text: event.output.text })) },
      activities: { narrate: modelActivity({ agent: 'narrator', llm, model: UNPRICED, request: () => ({ messages: [{ role: 'user', content: 'Narrate.' }] }) }) },
    });
    const store = await SqliteStore.open(tempDb());
    const runtime = createRuntime({ store, machines: [narrator], pollIntervalMs: 20 });
    const server = await startServer({ store, runtime, studioDir });
    cleanups.push(async () => {
      await server.close();
      await runtime.stop();
      await store.close();
    });
    const browser: Browser = await launchBrowser();
    cleanups.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });

    // The page records every text the inspector shows while the answer streams.
    await runtime.start();
    const { runId } = await runtime.startRun('narrator');
    await page.goto(`${server.url}/#/runs/${encodeURIComponent(runId)}`);
    await page.locator('[data-testid="timeline"][data-caught-up="true"]').waitFor({ timeout: 20_000 });
    await page.evaluate(() => {
      const seen: { attempt: string; text: string }[] = [];
      (window as unknown as { seen: typeof seen }).seen = seen;
      new MutationObserver(() => {
        const shown = document.querySelector('[data-testid="partial"]');
        const text = shown?.querySelector('[data-testid="partial-output"]')?.textContent;
        if (shown && typeof text === 'string' && text !== seen.at(-1)?.text) seen.push({ attempt: shown.getAttribute('data-attempt') ?? '', text });
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    watch();
    const partial = page.locator('[data-testid="partial-output"]');
    const output = page.locator('[data-testid="activity-output"]', { hasText: ANSWER });
    await output.waitFor({ timeout: 30_000 });
    const seen = await page.evaluate(() => (window as unknown as { seen: { attempt: string; text: string }[] }).seen);
    // The cut-off attempt streamed, then its partial was dropped; the retry streamed the answer anew, growing.
    const first = seen.filter((s) => s.attempt === '1').map((s) => s.text);
    const second = seen.filter((s) => s.attempt === '2').map((s) => s.text);
    expect(first.length).toBeGreaterThan(0);
    for (const text of first) expect('A first attempt that never got to the end of its answer'.startsWith(text)).toBe(true);
    expect(second.length).toBeGreaterThanOrEqual(3);
    for (const [i, text] of second.entries()) {
      expect(ANSWER.startsWith(text)).toBe(true);
      if (i > 0) expect(text.length).toBeGreaterThan(second[i - 1]!.length);
    }
    expect(second[0]!.length).toBeLessThan(ANSWER.length);
    // Committed: the partial is gone and the journaled result is the complete answer, paid for once.
    expect(await partial.count()).toBe(0);
    expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done' });
    expect(model.totals()).toMatchObject({ calls: 2, completed: 1, faulted: 1 });
    const [job] = await store.listJobs({ runId });
    expect(JSON.parse(job!.output!)).toMatchObject({ text: ANSWER });
    expect(job!.journal).not.toContain('A first attempt');

    // No price for the model: the step's cost and the run's total say unknown, naming it.
    await page.locator('[data-testid="activity-call"] [data-testid="unpriced"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-testid="activity-call"] [data-testid="cost"]').innerText()).toBe(`cost unknown: ${UNPRICED}`);
    const header = page.locator('.run-facts [data-testid="cost"]');
    await expect.poll(() => header.innerText(), { timeout: 10_000 }).toBe(`cost unknown: ${UNPRICED}`);
    expect(await header.locator('[data-testid="unpriced"]').getAttribute('title')).toMatch(/real cost is unknown/);
    await page.goto(server.url);
    const row = page.locator(`[data-testid="run-row"][data-run-id="${runId}"] [data-testid="cost"]`);
    expect(await row.innerText({ timeout: 10_000 })).toBe(`cost unknown: ${UNPRICED}`);
  });
});
