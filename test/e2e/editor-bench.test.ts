import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureStudioBuilt, launchBrowser, ROOT, startServe, type ServeProcess } from './support/spine.js';

// Acceptance 5 of the editor: a 100-state machine lays out in under 500 ms and stays
// responsive while a state is dragged. Measured in Chromium against a real `spine serve`;
// the figures are printed ([bench] lines) for the issue note.

const STATES = 100;
let serve: ServeProcess;
let browser: Browser;
let page: Page;

/** 79 states in a chain (with retry loops back), two compound states of 9 children each, one final: 100 states. */
function hundredStateMachine(): Record<string, unknown> {
  const states: Record<string, unknown> = {};
  for (let i = 0; i < 79; i++) {
    const on: Record<string, unknown> = { 'step.next': i === 78 ? 'groupA' : `s${i + 1}` };
    if (i % 5 === 4) on['step.retry'] = `s${i - 3}`;
    states[`s${i}`] = { on };
  }
  const group = (next: string) => {
    const children: Record<string, unknown> = {};
    for (let c = 0; c < 9; c++) children[`c${c}`] = c === 8 ? { type: 'final' } : { on: { 'step.next': `c${c + 1}` } };
    return { initial: 'c0', states: children, onDone: next };
  };
  states.groupA = group('groupB');
  states.groupB = group('done');
  states.done = { type: 'final' };
  return { id: 'big', initial: 's0', states };
}

beforeAll(async () => {
  ensureStudioBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'spine-editor-bench-'));
  const machines = join(dir, 'machines');
  mkdirSync(machines);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(machines, 'big.machine.json'), `${JSON.stringify(hundredStateMachine(), null, 2)}\n`);
  writeFileSync(
    join(machines, 'big.ts'),
    "import { z } from 'zod';\nexport default { schemas: { events: { 'step.next': z.object({}), 'step.retry': z.object({}) } } };\n",
  );
  serve = await startServe({ db: join(dir, 'spine.db'), machines });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 950 }, deviceScaleFactor: 1 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
});

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { n: sorted.length, p50: round(at(0.5)), p95: round(at(0.95)), max: round(sorted.at(-1) ?? NaN) };
}
const round = (n: number) => Math.round(n * 10) / 10;

const budgets = process.env.SPINE_E2E_BUDGETS === '1';

describe('machine editor with a 100-state machine, in Chromium', () => {
  it('lays out a 100-state machine and drags a state, printing layout time and frame latency (budgets enforced with SPINE_E2E_BUDGETS=1)', async () => {
    const t0 = Date.now();
    await page.goto(`${serve.url}/#/editor/big`);
    const canvas = page.locator('[data-testid="editor-canvas"]');
    await expect.poll(() => page.locator('[data-testid="editor-state"]').count(), { timeout: 20_000 }).toBe(STATES);
    const opened = Date.now() - t0;
    const firstLayout = Number(await canvas.getAttribute('data-layout-ms'));
    // Lay out again (warm), from the toolbar.
    await page.getByRole('button', { name: 'Auto-layout' }).click();
    await expect.poll(async () => Number(await canvas.getAttribute('data-layout-ms')) !== firstLayout).toBe(true);
    const secondLayout = Number(await canvas.getAttribute('data-layout-ms'));
    console.log(`[bench] editor: ${STATES}-state machine laid out by ELK in ${round(firstLayout)} ms (first), ${round(secondLayout)} ms (again); open to ${STATES} states drawn: ${opened} ms`);
    expect(firstLayout).toBeGreaterThan(0);
    // Speed targets are printed figures; SPINE_E2E_BUDGETS=1 enforces them (a busy CI machine is not a benchmark).
    if (budgets) {
      expect(firstLayout).toBeLessThan(500);
      expect(secondLayout).toBeLessThan(500);
    }

    // Instrument the page: every frame's time, main-thread tasks over 50 ms, and for each
    // pointer move, the time from the event to just after the next frame was produced.
    await page.evaluate(() => {
      const w = window as unknown as { __frames: number[]; __latency: number[]; __long: number[]; __recording: boolean };
      w.__frames = [];
      w.__latency = [];
      w.__long = [];
      w.__recording = false;
      const loop = (t: number) => {
        if (w.__recording) w.__frames.push(t);
        requestAnimationFrame(loop);
      };
      requestAnimationFrame(loop);
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) if (w.__recording) w.__long.push(entry.duration);
      }).observe({ type: 'longtask' });
      document.addEventListener(
        'pointermove',
        (e) => {
          if (!w.__recording) return;
          const start = e.timeStamp;
          requestAnimationFrame(() => setTimeout(() => w.__latency.push(performance.now() - start), 0));
        },
        { capture: true },
      );
    });

    const target = page.locator('[data-testid="editor-state"][data-path="s40"]');
    await target.scrollIntoViewIfNeeded();
    const box = (await target.boundingBox())!;
    const start = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
    await page.mouse.move(start.x, start.y);
    await page.mouse.down();
    await page.evaluate(() => ((window as unknown as { __recording: boolean }).__recording = true));
    const steps = 90;
    const dragStarted = Date.now();
    for (let i = 1; i <= steps; i++) {
      await page.mouse.move(start.x + i * 3, start.y + Math.round(Math.sin(i / 10) * 40));
      await page.waitForTimeout(8);
    }
    const dragMs = Date.now() - dragStarted;
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 50))));
    await page.evaluate(() => ((window as unknown as { __recording: boolean }).__recording = false));
    await page.mouse.up();
    const measured = await page.evaluate(() => {
      const w = window as unknown as { __frames: number[]; __latency: number[]; __long: number[] };
      return { frames: w.__frames, latency: w.__latency, long: w.__long };
    });
    const intervals = measured.frames.slice(1).map((t, i) => t - measured.frames[i]!);
    const frame = stats(intervals);
    const latency = stats(measured.latency);
    console.log(
      `[bench] editor drag (${steps} pointer moves over ${dragMs} ms, ${STATES} states): frame interval p50 ${frame.p50} ms, p95 ${frame.p95} ms, max ${frame.max} ms (${frame.n} frames); ` +
        `input-to-next-frame p50 ${latency.p50} ms, p95 ${latency.p95} ms, max ${latency.max} ms; long tasks (>50 ms): ${measured.long.length}`,
    );

    // The drop is one committed move of s40: the machine now has unsaved layout changes and can undo it.
    const after = (await target.boundingBox())!;
    expect(after.x - box.x).toBeGreaterThan(150);
    await expect.poll(() => page.locator('[data-testid="machine-editor"]').getAttribute('data-dirty')).toBe('true');
    expect(await page.locator('[data-testid="undo"]').isEnabled()).toBe(true);

    expect(latency.n).toBeGreaterThan(steps / 2);
    if (budgets) {
      expect(latency.p95).toBeLessThan(100);
      expect(frame.p95).toBeLessThan(100);
    }
    // Its figures are printed, not judged (above): a loaded machine (another test file beside it) only
    // slows it, so it gets more than the default 30 s.
  }, 90_000);
});
