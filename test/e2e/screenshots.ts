/**
 * `npm run screenshots`: every studio page at 1440x900 in headless Chromium, on the offline
 * demo (the same `spine demo --serve` as `npm start`, in a fresh directory), written to
 * test/e2e/.screenshots/ (gitignored). It builds what changed first, like `npm start`.
 *
 * Pages: the runs list (a run waiting for approval, a failed run, a fork), a waiting run, a
 * failed run, one agent of a run, the approvals inbox (with a refused edit), its history, costs,
 * the editor, simulate and export, editing the context before a fork, and the fork.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, ROOT } from './support/spine.js';

const OUT = join(ROOT, 'test/e2e/.screenshots');
const CLI = join(ROOT, 'packages/cli/bin/spine.js');

function build(): void {
  const result = spawnSync('npm', ['run', 'prestart'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('the build failed');
}

async function main(): Promise<void> {
  build();
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const cwd = mkdtempSync(join(tmpdir(), 'spine-screenshots-'));
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !/^(OPENAI_|ANTHROPIC_|SPINE_DB$|SPINE_MODEL$)/.test(key)) env[key] = value;
  env.SPINE_PUBLISH_DIR = join(cwd, 'published');
  const machines = join(ROOT, 'machines');
  const demo = spawn(process.execPath, [CLI, 'demo', '--serve', '--port', '0', '--machines', machines], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  demo.stdout.on('data', (d) => (out += d));
  demo.stderr.on('data', (d) => (out += d));
  const shots: string[] = [];
  try {
    await until(() => /approval needed/.test(out), 120_000, () => `the demo did not reach its approval:\n${out}`);
    const url = /studio: (http:\/\/\S+)/.exec(out)![1]!;
    const runId = /run (run-[\w-]+): /.exec(out)![1]!;
    // A failed run: the pipeline without a model provider fails at once, with the reason.
    const failed = spawnSync(process.execPath, [CLI, 'run', 'supervisor', '--input', '{"topic":"x"}', '--machines', machines], { cwd, env, encoding: 'utf8' });
    const failedId = /run (\S+) started/.exec(failed.stderr)?.[1];

    const browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    const shot = async (name: string, options: { top?: boolean } = {}) => {
      if (options.top !== false) await page.evaluate(() => window.scrollTo(0, 0));
      await page.waitForTimeout(400);
      await page.screenshot({ path: join(OUT, `${name}.png`) });
      shots.push(name);
    };
    const go = async (hash: string, ready: string) => {
      await page.goto(`${url}/${hash}`);
      await page.locator(ready).first().waitFor({ timeout: 20_000 });
    };

    await go(`#/runs/${encodeURIComponent(runId)}`, '[data-testid="run-waiting"]');
    await page.locator('[data-testid="state-node"][data-active="true"]').first().waitFor({ timeout: 20_000 });
    await shot('02-run-waiting-for-approval');
    await page.locator('[data-testid="agent-name"]', { hasText: 'writer #2' }).click();
    await page.locator('[data-testid="state-node"]').first().waitFor();
    await page.locator('[data-testid="step-row"]').last().click();
    await shot('04-run-agent-writer-2');

    if (failedId) {
      await go(`#/runs/${encodeURIComponent(failedId)}`, '[data-testid="run-failure"]');
      await page.locator('[data-testid="state-node"][data-active="true"]').first().waitFor({ timeout: 20_000 });
      await shot('03-run-failed');
    }

    // Edit the context at the step where publishing was requested, then fork.
    const history = (await (await fetch(`${url}/api/runs/${runId}/history`)).json()) as { events: { type: string; actorId: string; seq: number; snapshot: { value: unknown } }[] };
    const atPublishing = history.events.find((e) => e.type === '@xstate.snapshot' && e.actorId === runId && e.snapshot.value === 'publishing')!;
    await go(`#/runs/${encodeURIComponent(runId)}`, `[data-testid="step-row"][data-actor="${runId}"][data-seq="${atPublishing.seq}"]`);
    await page.locator(`[data-testid="step-row"][data-actor="${runId}"][data-seq="${atPublishing.seq}"]`).click();
    await page.click('[data-testid="edit-context"]');
    const editor = page.locator('[data-testid="edit-context-json"]');
    const context = JSON.parse(await editor.inputValue()) as { draft: { title: string } };
    await editor.fill(JSON.stringify({ ...context, stage: 'bogus' }, null, 2));
    await page.click('[data-testid="fork-with-context"]');
    await page.locator('[data-testid="edit-context-error"]').waitFor();
    await page.locator('[data-testid="edit-context-form"]').scrollIntoViewIfNeeded();
    await shot('11-edit-context-then-fork', { top: false });
    await editor.fill(JSON.stringify({ ...context, draft: { ...context.draft, title: 'A forked title' } }, null, 2));
    await page.click('[data-testid="fork-with-context"]');
    await page.waitForFunction(() => /^#\/runs\/fork-/.test(window.location.hash), undefined, { timeout: 20_000 });
    await page.locator('[data-testid="lineage"]').waitFor();
    await page.locator('[data-testid="state-node"][data-active="true"]').first().waitFor({ timeout: 20_000 });
    await shot('12-forked-run');

    await go('#/', '[data-testid="run-row"]');
    await shot('01-runs');

    await go('#/approvals', '[data-testid="approval"]');
    await page.fill('[data-testid="approver"]', 'ada');
    const card = page.locator(`[data-testid="approval"]:has(.card-head a[href="#/runs/${encodeURIComponent(runId)}"])`);
    await card.getByRole('button', { name: 'Edit' }).click();
    await card.locator('[data-testid="edit-proposal"]').fill('{"title":5}');
    await card.locator('[data-testid="approve"]').click();
    await card.locator('[data-testid="edit-error"]').waitFor();
    await card.scrollIntoViewIfNeeded();
    await shot('05-approvals-inbox-with-a-refused-edit', { top: false });
    await card.locator('[data-testid="edit-proposal"]').fill('{"title":"Durable agents, reviewed"}');
    await page.fill('input[placeholder="reason (optional)"]', 'clearer title');
    await card.locator('[data-testid="approve"]').click();
    await page.locator('[data-testid="decided-approval"]').first().waitFor({ timeout: 20_000 });
    await page.locator('[data-testid="approvals-history"]').scrollIntoViewIfNeeded();
    await shot('06-approvals-history', { top: false });

    await go('#/costs', '[data-testid="cost-row"]');
    await shot('07-costs');

    await go('#/editor/supervisor', '[data-testid="machine-editor"][data-machine="supervisor"]');
    await page.waitForTimeout(800);
    await shot('08-editor');
    await page.click('[data-testid="open-simulate"]');
    await page.click('[data-testid="simulate-event"]');
    await shot('09-editor-simulate');
    await page.click('[data-testid="open-export"]');
    await shot('10-editor-export');
    await browser.close();
  } finally {
    demo.kill('SIGTERM');
  }
  console.log(`${shots.length} screenshots (1440x900) in ${OUT}:\n${shots.map((s) => `  ${s}.png`).join('\n')}`);
}

async function until(ready: () => boolean, timeoutMs: number, message: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}


main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
