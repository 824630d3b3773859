import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePng, near, pixelAt } from './support/png.js';
import { ensureStudioBuilt, launchBrowser, ROOT, spineRun, startServe, tempDb, type ServeProcess } from './support/spine.js';

// The lit state's fill (--lit in apps/studio/src/styles.css) and an idle state's.
const LIT = [16, 185, 129];
const IDLE = [255, 255, 255];
const ARTIFACTS = join(ROOT, 'test/e2e/.artifacts');

let serve: ServeProcess;
let browser: Browser;
let page: Page;
const db = tempDb();

beforeAll(async () => {
  ensureStudioBuilt();
  mkdirSync(ARTIFACTS, { recursive: true });
  serve = await startServe({ db });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
});

interface SnapshotEventJson {
  type: string;
  seq: number;
  createdAt: string;
  snapshot: { value: unknown };
}

async function history(runId: string): Promise<SnapshotEventJson[]> {
  const res = await fetch(`${serve.url}/api/runs/${runId}/history`);
  const body = (await res.json()) as { events: SnapshotEventJson[] };
  return body.events.filter((e) => e.type === '@xstate.snapshot');
}

/** Screenshot of the page and the box of the state node `stateId`, to check pixels where the node is drawn. */
async function nodePixels(stateId: string) {
  const node = page.locator(`[data-testid="state-node"][data-state-id="${stateId}"]`);
  const box = (await node.boundingBox())!;
  const shot = await page.screenshot();
  return { box, image: decodePng(shot), shot };
}

/** Colours inside a node box, away from its label (bottom-left and bottom-right interior). */
function insideColours(image: ReturnType<typeof decodePng>, box: { x: number; y: number; width: number; height: number }) {
  return [pixelAt(image, box.x + 6, box.y + box.height - 6), pixelAt(image, box.x + box.width - 6, box.y + box.height - 6)];
}

/**
 * Starts a ticker run in a separate process and opens its view at once (by its address, without
 * waiting for the runs list), recording in the page when the lit state of that run's diagram
 * changes; returns how long each step committed once the view followed the run live took to light up.
 */
async function watchTickerRun(): Promise<number[]> {
  const run = await spineRun('ticker', { db, input: { label: 'e2e' } });
  await page.evaluate((runId) => {
    const w = window as unknown as { litChanges: { states: string; at: number }[] };
    w.litChanges = [];
    let last: string | undefined;
    const record = () => {
      if (document.querySelector('[data-testid="run-id"]')?.textContent?.trim() !== runId) return; // another run's view
      const states = document.querySelector('[data-testid="diagram"]')?.getAttribute('data-active-states');
      if (states === undefined || states === null || states === last) return;
      last = states;
      w.litChanges.push({ states, at: Date.now() });
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-active-states'] });
    window.location.hash = `#/runs/${encodeURIComponent(runId)}`;
  }, run.runId);
  const diagram = page.locator('[data-testid="diagram"]');
  await page.locator('[data-testid="state-node"][data-state-id="ticker.waiting"][data-active="true"]').waitFor({ timeout: 10_000 });
  expect(await diagram.getAttribute('data-active-states')).toBe('ticker.waiting');
  const outcome = await run.exited;
  expect(JSON.parse(outcome.stdout)).toMatchObject({ status: 'waiting', state: 'waiting' });

  const changes = await page.evaluate(() => (window as unknown as { litChanges: { states: string; at: number }[] }).litChanges);
  const steps = await history(run.runId);
  expect(steps.map((s) => s.snapshot.value)).toEqual(['tick1', 'tick2', 'tick3', 'tick4', 'tick5', 'waiting']);
  // The view is live from its first change of lit state on (while it loads, it shows the latest state).
  const observedFrom = changes[1]?.at ?? Infinity;
  const lags: number[] = [];
  for (const step of steps) {
    const committed = Number(step.createdAt);
    if (committed < observedFrom) continue; // committed before the page was following the run live
    const seen = changes.find((c) => c.states === `ticker.${String(step.snapshot.value)}` && c.at >= committed - 5);
    expect(seen, `the diagram never lit ${String(step.snapshot.value)}`).toBeDefined();
    lags.push(seen!.at - committed);
  }

  // The runs list shows it too; its row opens the same view.
  await page.evaluate(() => (window.location.hash = '#/'));
  const row = page.locator(`[data-testid="run-row"][data-run-id="${run.runId}"]`);
  await row.waitFor({ timeout: 5000 });
  await row.click();
  await page.locator('[data-testid="state-node"][data-state-id="ticker.waiting"][data-active="true"]').waitFor({ timeout: 10_000 });
  expect((await page.locator('[data-testid="run-id"]').innerText()).trim()).toBe(run.runId);
  return lags;
}

describe('studio end to end, in Chromium against a real `spine serve`', () => {
  it('loads the first screen (time printed; under a second with SPINE_E2E_BUDGETS=1) and explains itself to a newcomer', async () => {
    const t0 = Date.now();
    await page.goto(serve.url);
    await page.locator('[data-testid="intro"]').waitFor();
    await page.locator('[data-testid="empty-runs"], [data-testid="runs-table"]').first().waitFor();
    const elapsed = Date.now() - t0;
    const timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return { domContentLoaded: Math.round(nav.domContentLoadedEventEnd), load: Math.round(nav.loadEventEnd) };
    });
    console.log(`[e2e] first screen: visible in ${elapsed} ms (DOMContentLoaded ${timing.domContentLoaded} ms, load ${timing.load} ms)`);
    // A speed target is a printed figure, not a timed assertion that a busy CI machine fails; SPINE_E2E_BUDGETS=1 enforces it.
    if (process.env.SPINE_E2E_BUDGETS === '1') expect(elapsed).toBeLessThan(1000);
    const intro = await page.locator('[data-testid="intro"]').innerText();
    expect(intro).toContain('Spine');
    expect(intro).toMatch(/every step is committed/);
    expect(await page.locator('[data-testid="empty-runs"]').innerText()).toMatch(/No runs yet[\s\S]*spine run/);
    await page.locator('[data-testid="connection"]', { hasText: 'live' }).waitFor();
  });

  it('shows a run started by a separate `spine run` process, lit state following each step within 1 s', async () => {
    // The ticker's steps come 300 ms apart, so the page must open the run's diagram within about a
    // second to watch two of them commit. On a loaded machine it can miss them: then a new run is
    // started with the page warm (at most three runs); every step it did watch is checked.
    let lags: number[] = [];
    for (let attempt = 1; attempt <= 3 && lags.length < 2; attempt++) lags = await watchTickerRun();
    console.log(`[e2e] step commit -> lit state in the browser: ${lags.map((l) => `${l} ms`).join(', ')}`);
    expect(lags.length).toBeGreaterThanOrEqual(2); // steps committed before the view opened are not counted
    for (const lag of lags) expect(lag).toBeLessThan(1000);

    // The screenshot shows the highlight where the lit node is, and not on the others.
    const { box, image, shot } = await nodePixels('ticker.waiting');
    writeFileSync(join(ARTIFACTS, 'run-view-live.png'), shot);
    for (const colour of insideColours(image, box)) expect(near(colour, LIT), `lit node colour ${colour}`).toBe(true);
    const idle = await page.locator('[data-testid="state-node"][data-state-id="ticker.tick2"]').boundingBox();
    for (const colour of insideColours(image, idle!)) expect(near(colour, IDLE), `idle node colour ${colour}`).toBe(true);
  }, 90_000);

  it('clicking a past step shows that step’s snapshot and lights the state it was in', async () => {
    const rows = page.locator('[data-testid="step-row"]');
    const stepTwo = rows.filter({ has: page.locator('text=tick2') }).first();
    await stepTwo.click();
    const inspector = page.locator('[data-testid="step-inspector"]');
    await expect.poll(() => inspector.getAttribute('data-seq')).toBe('2');
    expect(await page.locator('[data-testid="step-state"]').innerText()).toBe('tick2');
    expect(await page.locator('[data-testid="step-event"]').innerText()).toBe('xstate.after.300.ticker.tick1');
    await page.locator('[data-testid="state-node"][data-state-id="ticker.tick2"][data-active="true"]').waitFor();
    expect(await page.locator('[data-testid="live-toggle"]').innerText()).toBe('Go live');
    const { box, image, shot } = await nodePixels('ticker.tick2');
    writeFileSync(join(ARTIFACTS, 'run-view-step-2.png'), shot);
    for (const colour of insideColours(image, box)) expect(near(colour, LIT), `time-travelled node colour ${colour}`).toBe(true);
    const now = await page.locator('[data-testid="state-node"][data-state-id="ticker.waiting"]').boundingBox();
    for (const colour of insideColours(image, now!)) expect(near(colour, IDLE)).toBe(true);
    await page.locator('[data-testid="context-diff"]').waitFor();
  });

  it('an event sent from the UI reaches the run (after an invalid one is refused naming its field)', async () => {
    await page.locator('[data-testid="live-toggle"]').click();
    const runId = (await page.locator('[data-testid="run-id"]').innerText()).trim();
    await page.locator('[data-testid="send-event-type"]').selectOption('ticker.resume');
    await page.locator('[data-testid="send-event-payload"]').fill('{ "note": "" }');
    await page.locator('[data-testid="send-event-submit"]').click();
    await expect.poll(() => page.locator('[data-testid="notice"]').innerText()).toMatch(/refused by machine 'ticker': note:/);
    expect(await history(runId)).toHaveLength(6);
    await page.locator('[data-testid="send-event-payload"]').fill('{ "note": "sent from the studio" }');
    await page.locator('[data-testid="send-event-submit"]').click();
    await page.locator('[data-testid="state-node"][data-state-id="ticker.wrapup"][data-active="true"]').waitFor({ timeout: 5000 });
    await page.locator('[data-testid="state-node"][data-state-id="ticker.finished"][data-active="true"]').waitFor({ timeout: 5000 });
    const detail = (await (await fetch(`${serve.url}/api/runs/${runId}`)).json()) as { run: { status: string; state: string } };
    expect(detail.run).toMatchObject({ status: 'done', state: 'finished' });
    const steps = await history(runId);
    expect(steps.map((s) => s.snapshot.value)).toEqual(['tick1', 'tick2', 'tick3', 'tick4', 'tick5', 'waiting', 'wrapup', 'finished']);
    await page.locator('[data-testid="step-row"]', { hasText: 'ticker.resume' }).waitFor();
  });

  it('an event to a finished run is refused with a message and changes nothing', async () => {
    const runId = (await page.locator('[data-testid="run-id"]').innerText()).trim();
    const before = await history(runId);
    await page.locator('[data-testid="send-event-type"]').selectOption('ticker.poke');
    await page.locator('[data-testid="send-event-payload"]').fill('{}');
    await page.locator('[data-testid="send-event-submit"]').click();
    const notice = page.locator('[data-testid="notice"]');
    await expect.poll(() => notice.innerText()).toMatch(/done; it accepts no more events/);
    expect(await history(runId)).toHaveLength(before.length);
  });

  it('shows a supervisor and its child agent as a tree, a step’s model call with tokens and cost, and spend per agent', async () => {
    const run = await spineRun('crew', { db });
    expect(JSON.parse((await run.exited).stdout)).toMatchObject({ status: 'waiting' });
    await page.evaluate(() => (window.location.hash = '#/'));
    const row = page.locator(`[data-testid="run-row"][data-run-id="${run.runId}"]`);
    await row.waitFor();
    await expect.poll(() => row.innerText()).toMatch(/crew[\s\S]*500[\s\S]*\$0\.0021/);
    await row.click();
    const tree = page.locator('[data-testid="agents-tree"] li');
    await expect.poll(() => tree.count()).toBe(2);
    expect(await tree.nth(0).innerText()).toMatch(/crew \(top level\)\s*delegating/);
    expect(await tree.nth(1).innerText()).toMatch(/worker\s*waiting/);

    await page.locator('[data-testid="step-row"]', { hasText: 'xstate.done.actor.plan' }).click();
    const call = page.locator('[data-testid="activity-call"]');
    await call.waitFor();
    expect(await call.innerText()).toMatch(/applied the result of plan[\s\S]*Attempts\s*1[\s\S]*420 in · 80 out[\s\S]*\$0\.0021[\s\S]*scripted-mini/);

    await page.locator('[data-testid="live-toggle"]').click();
    await tree.nth(1).locator('button').click();
    await page.locator('[data-testid="state-node"][data-state-id="ticker.waiting"][data-active="true"]').waitFor();
    writeFileSync(join(ARTIFACTS, 'run-view-child.png'), await page.screenshot());

    await page.locator('nav a', { hasText: 'Costs' }).click();
    const chart = page.locator('[data-testid="cost-chart"]');
    await chart.waitFor();
    expect(await chart.innerText()).toContain('crew: $0.0021');
  });
});
