import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createRuntime, loadMachineDirectory } from '@spine/runtime';
import { startServer } from '@spine/server';
import { SqliteStore } from '@spine/store-sqlite';
import { tsImport } from 'tsx/esm/api';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureStudioBuilt, launchBrowser, ROOT, tempDb } from './support/spine.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A runtime with the approval fixtures, a studio server on it and a publish endpoint that records what it gets. */
async function startStudio() {
  // SPINE_STUDIO_DIR points at another build of the studio (e.g. while apps/studio is mid-edit).
  const studioDir = process.env.SPINE_STUDIO_DIR ?? (ensureStudioBuilt(), join(ROOT, 'apps/studio/dist'));
  const published: unknown[] = [];
  const effects = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      published.push(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"url":"https://example.test/x"}');
    });
  });
  await new Promise<void>((resolve) => effects.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => void effects.close());
  process.env.SPINE_TEST_EFFECT_URL = `http://127.0.0.1:${(effects.address() as AddressInfo).port}/publish`;

  const machines = await loadMachineDirectory(join(ROOT, 'test/fixtures/approval-machines'), { importModule: (url) => tsImport(url, import.meta.url) as Promise<Record<string, unknown>> });
  const store = await SqliteStore.open(tempDb());
  const runtime = createRuntime({ store, machines, secret: 'e2e-approvals-secret-0123', pollIntervalMs: 20 });
  await runtime.start();
  const server = await startServer({ store, runtime, studioDir });
  cleanups.push(async () => {
    await server.close();
    await runtime.stop();
    await store.close();
  });
  return { store, runtime, server, published };
}

describe('studio approvals inbox, in a real browser', () => {
  it('lists pending approvals with a countdown, approves an edited proposal and rejects another, as a named person', async () => {
    const { store, runtime, server, published } = await startStudio();
    const one = await runtime.startRun('release', { input: { title: 'One' } });
    const two = await runtime.startRun('release', { input: { title: 'Two' } });
    await runtime.waitForRun(one.runId, { horizonMs: 0 });
    await runtime.waitForRun(two.runId, { horizonMs: 0 });

    const browser = await launchBrowser();
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`${server.url}/#/approvals`);
    const cards = page.locator('[data-testid="approval"]');
    await cards.first().waitFor({ timeout: 10_000 });
    expect(await cards.count()).toBe(2);
    expect(await page.locator('[data-testid="countdown"]').first().textContent()).toMatch(/^59m \d\ds left, then escalates$/);
    expect(await cards.first().textContent()).toContain('Three sources agree');
    await expect(cards.first().locator('[data-testid="approve"]').isDisabled()).resolves.toBe(true); // no name yet

    await page.fill('[data-testid="approver"]', 'ada');
    const cardOne = cards.filter({ hasText: 'no open issues block One.' });
    await cardOne.getByRole('button', { name: 'Edit' }).click();
    await cardOne.locator('[data-testid="edit-proposal"]').fill('{"title":"One, edited","channel":"news"}');
    await cardOne.locator('[data-testid="approve"]').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="approval"]').length === 1, undefined, { timeout: 10_000 });
    expect(await runtime.waitForRun(one.runId)).toMatchObject({ status: 'done' });
    expect(published).toEqual([{ title: 'One, edited', channel: 'news' }]);

    await page.fill('input[placeholder="reason (optional)"]', 'duplicate');
    await page.locator('[data-testid="reject"]').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="approval"]').length === 0, undefined, { timeout: 10_000 });
    expect(await runtime.waitForRun(two.runId)).toMatchObject({ status: 'done', output: { error: { kind: 'rejected', message: "ada rejected 'publish': duplicate." } } });
    expect(published).toHaveLength(1);
    const audit = await store.listAudit();
    expect(audit.filter((r) => r.kind.startsWith('approval.') && r.who === 'ada').map((r) => r.kind)).toEqual(['approval.edited', 'approval.rejected']);
  }, 120_000);

  it('forks a run waiting for approval from a past step and cancels the original: the inbox shows only the fork, which runs once approved', async () => {
    const { store, runtime, server, published } = await startStudio();
    const { runId } = await runtime.startRun('release', { input: { title: 'Three' } });
    // The draft fails once and retries after a short back-off; then the publish waits for a person.
    await expect.poll(async () => (await runtime.pendingApprovals(runId)).length, { timeout: 10_000 }).toBe(1);
    const [original] = await runtime.pendingApprovals(runId);

    const browser = await launchBrowser();
    cleanups.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${server.url}/#/runs/${encodeURIComponent(runId)}`);
    await page.locator(`[data-testid="step-row"][data-seq="${original!.seq}"]`).click();
    await page.locator('[data-testid="fork-step"]').click();
    await page.waitForFunction((source) => /^#\/runs\/fork-/.test(window.location.hash) && !window.location.hash.includes(source), runId, { timeout: 10_000 });
    const forkId = decodeURIComponent(new URL(page.url()).hash.slice('#/runs/'.length));
    await runtime.poke();
    expect(await runtime.waitForRun(forkId, { horizonMs: 0 })).toMatchObject({ status: 'waiting', state: 'publishing' });
    expect(published).toEqual([]);

    await page.goto(`${server.url}/#/runs/${encodeURIComponent(runId)}`);
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await expect.poll(async () => (await store.getApproval(original!.id))?.status, { timeout: 10_000 }).toBe('cancelled');

    await page.goto(`${server.url}/#/approvals`);
    const cards = page.locator('[data-testid="approval"]');
    await cards.first().waitFor({ timeout: 10_000 });
    expect(await cards.count()).toBe(1);
    expect(await cards.first().textContent()).toContain(forkId);
    expect(await cards.first().textContent()).toContain('after spine.run.forked');
    await page.fill('[data-testid="approver"]', 'ada');
    await cards.first().locator('[data-testid="approve"]').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="approval"]').length === 0, undefined, { timeout: 10_000 });
    expect(await runtime.waitForRun(forkId)).toMatchObject({ status: 'done' });
    expect(published).toEqual([{ title: 'Three', channel: 'blog' }]);
    expect((await store.listAudit({ runId })).map((r) => [r.kind, r.who])).toEqual([
      ['approval.requested', 'agent:release'],
      ['approval.cancelled', 'studio'],
      ['run.cancelled', 'studio'],
    ]);
  }, 120_000);
});
