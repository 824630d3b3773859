import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureStudioBuilt, launchBrowser, ROOT, startServe, tempDb, type ServeProcess } from './support/spine.js';

// A plain XState app inspected into a real `spine serve` (@statelyai/inspect's createWebSocketInspector),
// seen in Chromium: listed as not durable, its diagram drawn from the definition it sent, its steps in the timeline.
let serve: ServeProcess;
let browser: Browser;

beforeAll(async () => {
  ensureStudioBuilt();
  serve = await startServe({ db: tempDb(), machines: null, env: { SPINE_TOKEN: undefined } });
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await serve?.stop();
});

function runApp(which: 'door' | 'light'): Promise<number | null> {
  const app = spawn(process.execPath, [join(ROOT, 'test/fixtures/inspect/app.mjs'), `ws://127.0.0.1:${serve.port}/inspect`, which], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', APP_LINGER_MS: '800' },
    stdio: 'ignore',
  });
  return new Promise((resolve) => app.on('exit', resolve));
}

describe('inspected XState apps in the studio, in Chromium', () => {
  it('lists an inspected app as not durable and shows its diagram lit and its timeline', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(serve.url);
    expect(await runApp('door')).toBe(0);
    const row = page.locator('[data-testid="run-row"]', { has: page.locator('[data-testid="inspected-marker"]') });
    await row.first().waitFor({ timeout: 15_000 });
    expect(await row.count()).toBe(1);
    expect(await row.first().textContent()).toContain('door');
    await row.first().click();
    await page.locator('[data-testid="inspected-marker"]').first().waitFor({ timeout: 10_000 });
    // The diagram comes from the definition the app sent; the state it is in is lit.
    await page.locator('[data-testid="state-node"][data-state-id="door.secured"][data-active="true"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid="state-node"]').count()).toBe(3);
    // Its steps (the door's and its lock's) are in the timeline.
    const steps = page.locator('[data-testid="step-row"]');
    await steps.nth(3).waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-testid="timeline"]').textContent()).toContain('opened');
  }, 90_000);
});
