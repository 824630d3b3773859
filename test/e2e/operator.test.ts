import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSpine, spineBin } from '../support/spawnSpine.js';
import { ensureStudioBuilt, launchBrowser, ROOT } from './support/spine.js';

// What an operator meets in the first ten minutes, in one browser session: `npm start`'s demo
// (`spine demo --serve`) in a fresh directory, the CLI on the same default database, and the
// studio's runs list, run view, editor and approvals inbox.

const cwd = mkdtempSync(join(tmpdir(), 'spine-operator-'));
const publishDir = join(cwd, 'published');
const env = { SPINE_PUBLISH_DIR: publishDir, SPINE_DB: undefined, OPENAI_BASE_URL: undefined, OPENAI_API_KEY: undefined, ANTHROPIC_API_KEY: undefined, SPINE_MODEL: undefined, NO_COLOR: '1' };
const machines = join(ROOT, 'machines');

let demo: ChildProcess;
let demoOut = '';
let studioUrl: string;
let runId: string;
let browser: Browser;
let page: Page;

/** `spine …` in the demo's directory (so `--db` defaults as it would for a person there). */
const spine = (args: string[]) => spawnSpine(args, { cwd, env });

beforeAll(async () => {
  ensureStudioBuilt();
  const processEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...env })) if (value !== undefined) processEnv[key] = value;
  // What `npm start` runs, on port 0 and with the repo's machines (the directory is a fresh one).
  demo = spawn(process.execPath, [spineBin, 'demo', '--serve', '--port', '0', '--machines', machines], { cwd, env: processEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  demo.stdout!.on('data', (d) => (demoOut += d));
  demo.stderr!.on('data', (d) => (demoOut += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not reach its approval in 60 s:\n${demoOut}`)), 60_000);
    demo.stdout!.on('data', () => {
      if (/approval needed/.test(demoOut)) {
        clearTimeout(timer);
        resolve();
      }
    });
    demo.once('exit', (code) => reject(new Error(`the demo exited with ${code}:\n${demoOut}`)));
  });
  studioUrl = /studio: (http:\/\/\S+)/.exec(demoOut)![1]!;
  runId = /run (run-[\w-]+): /.exec(demoOut)![1]!;
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (demo && demo.exitCode === null) {
    const exited = new Promise((resolve) => demo.once('exit', resolve));
    demo.kill('SIGTERM');
    await exited;
  }
});

/** Opens the runs list and returns the row of one run. */
async function runsListRow(id: string) {
  await page.goto(studioUrl);
  return page.locator(`[data-testid="run-row"][data-run-id="${id}"]`);
}

/** The demo run's agents as the run view lists them: the supervisor, then each agent told apart by its number. */
async function expectDemoAgents(): Promise<void> {
  await expect
    .poll(() => page.locator('[data-testid="agent-name"]').allInnerTexts(), { timeout: 10_000 })
    .toEqual(['supervisor (top level)', 'researcher', 'verifier #1', 'verifier #2', 'writer #1', 'writer #2']);
}

// Every test spawns the real CLI (a second or more each on a loaded 2-core machine): generous timeouts.
describe('an operator on `npm start`, the CLI and the studio, in Chromium', { timeout: 90_000 }, () => {
  it('keeps the demo in the database every command reads by default, and says which', async () => {
    expect(demoOut).toContain(`(database .spine/spine.db, the default: \`npx spine runs\` lists it)`);
    expect(readdirSync(join(cwd, '.spine')).filter((f) => f.endsWith('.db'))).toEqual(['spine.db']);
    const [listed, text] = await Promise.all([spine(['runs', '--json']), spine(['runs'])]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject([{ runId, machine: 'supervisor', status: 'active', waitingForApproval: true }]);
    expect(text.stdout).toMatch(new RegExp(`${runId}\\s+supervisor\\s+waiting\\s+publishing`));
    expect(text.stdout).not.toMatch(/\u001b\[/); // NO_COLOR
  });

  it('refuses a second demo on the busy port with one clear line, not a stack', async () => {
    const port = new URL(studioUrl).port;
    const second = await spine(['demo', '--serve', '--port', port, '--machines', machines]);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(new RegExp(`^spine: port ${port} is already in use on 127\\.0\\.0\\.1 .*--port N\\n$`));
    expect(second.stderr).not.toMatch(/EADDRINUSE|\n\s+at /);
  });

  it('says what is wrong with bad CLI input in its own words', async () => {
    const [unknown, missing, writer] = await Promise.all([spine(['runs', '--colour']), spine(['runs', '--db']), spine(['run', 'writer', '--input', '{}', '--machines', machines])]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("spine: unknown option '--colour'\nusage: spine runs [--limit N] [--cursor C] [--db FILE] [--json]\n");
    expect(missing.stderr).toMatch(/^spine: option '--db' needs a value\n/);
    expect(writer.code).toBe(2);
    expect(writer.stderr).toMatch(/^spine: machine 'writer' takes no input: leave out --input/);
    expect(writer.stderr).not.toMatch(/expected undefined/);
  });

  it('refuses an edit that does not fit the proposal from the CLI, naming the field, and leaves the approval open', async () => {
    const edit = await spine(['approve', runId, '--as', 'ada', '--edit', '{"title":5}', '--machines', machines]);
    expect(edit.code, edit.stderr).toBe(2);
    expect(edit.stderr).toMatch(/^spine: The edited input does not fit activity 'publish': title: .*expected string, received number/);
    expect(edit.stdout).not.toMatch(/approved/);
    expect(JSON.parse((await spine(['runs', '--json'])).stdout)).toMatchObject([{ runId, waitingForApproval: true }]);
  });

  it('shows a run waiting for a person in the runs list, the run header and the Approvals tab, with agents told apart', async () => {
    const row = await runsListRow(runId);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('[data-testid="waiting-badge"]').innerText()).toBe('waiting for approval');
    expect(await row.locator('[data-testid="waiting-badge"]').getAttribute('title')).toMatch(/^Waiting for a person to approve publish \(medium risk\) since \d+[sm] ago; 23h \d+m left, then escalates$/);
    expect(await page.locator('[data-testid="approvals-count"]').innerText()).toBe('1');
    // Costs of a scripted run are fractions of a cent: shown, never as $0.0000.
    const cost = await row.locator('td').nth(6).innerText();
    expect(cost).toMatch(/^\$0\.00\d\d$/);
    expect(cost).not.toBe('$0.0000');
    // Step counts agree: the studio's and `spine runs` count every agent's steps.
    const steps = Number(await row.locator('td').nth(4).innerText());
    const [listed] = JSON.parse((await spine(['runs', '--json'])).stdout) as { steps: number }[];
    expect(listed!.steps).toBe(steps);
    expect(steps).toBeGreaterThan(20);

    await row.click();
    const banner = page.locator('[data-testid="run-waiting"]');
    await banner.waitFor();
    expect(await banner.innerText()).toMatch(/Waiting for a person to approve publish \(medium risk\)\s*since \d+[sm] ago · 23h \d+m left, then escalates/);
    expect(await page.locator('.run-facts [data-testid="waiting-badge"]').count()).toBe(1);
    await expectDemoAgents();
    expect(await page.locator('[data-testid="actor-role"]').innerText()).toBe('top-level machine of this run');
    await page.locator('[data-testid="agent-name"]', { hasText: 'writer #2' }).click();
    expect(await page.locator('[data-testid="actor-role"]').innerText()).toBe('agent writer #2');
  });

  it('drops an error notice when the person moves to another page', async () => {
    await page.goto(studioUrl);
    await page.selectOption('select[aria-label="Machine to start"]', 'supervisor');
    await page.fill('input[aria-label="Run input (JSON)"]', '{"topic":5}');
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    expect(await page.locator('[data-testid="notice"].error').innerText({ timeout: 10_000 })).toMatch(/topic/);
    await page.click('nav a[href="#/costs"]');
    await page.waitForFunction(() => window.location.hash === '#/costs');
    await page.waitForTimeout(100);
    expect(await page.locator('[data-testid="notice"]').count()).toBe(0);
    // The costs page has the table beside its chart: by run, agent and model.
    await page.locator('[data-testid="cost-row"]').first().waitFor({ timeout: 10_000 });
    const rows = await page.locator('[data-testid="cost-row"]').allInnerTexts();
    expect(rows.some((r) => new RegExp(`^${runId}\\s+researcher\\s+scripted\\s+2\\s`).test(r))).toBe(true);
    await page.selectOption('[data-testid="cost-window"]', '15m');
    expect(await page.locator('[data-testid="cost-row"]').count()).toBe(rows.length);
  });

  it('opens the machine editor on the demo server: it has the machines directory', async () => {
    await page.goto(`${studioUrl}/#/editor`);
    await page.locator('[data-testid="editor-machine-link"]').first().waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-testid="editor-machine-link"]').allInnerTexts()).toEqual(expect.arrayContaining(['supervisor', 'writer']));
    expect(await page.getByText('This server has no machines directory').count()).toBe(0);
    expect(await page.locator('[data-testid="new-machine-name"]').count()).toBe(1);

    // Export: TypeScript and Mermaid of the machine as edited.
    await page.locator('[data-testid="editor-machine-link"]', { hasText: 'writer' }).click();
    await page.locator('[data-testid="machine-editor"][data-machine="writer"]').waitFor({ timeout: 10_000 });
    await page.click('[data-testid="open-export"]');
    const exported = await page.locator('[data-testid="export-text"]').innerText();
    expect(exported).toContain("import { fromPromise, setup } from 'xstate';");
    expect(exported).toContain('export const writerMachine = setup({');
    expect(exported).toContain('}).createMachine({\n  "id": "writer",');
    await page.click('[data-testid="export-mermaid"]');
    expect(await page.locator('[data-testid="export-text"]').innerText()).toMatch(/^stateDiagram-v2\n {2}\[\*\] --> s0\n {2}state "idle" as s0/);
    const cli = await spine(['export', 'writer', '--machines', machines]);
    expect(cli.stdout).toBe(exported.replace(/\n?$/, '\n'));

    // Simulate: events step the machine with no run and no effect.
    const runsBefore = ((await (await fetch(`${studioUrl}/api/runs`)).json()) as { runs: unknown[] }).runs.length;
    await page.click('[data-testid="open-simulate"]');
    expect(await page.locator('[data-testid="simulate-state"]').innerText()).toBe('idle');
    await page.click('[data-testid="simulate-event"][data-event="draft.requested"]');
    expect(await page.locator('[data-testid="simulate-state"]').innerText()).toBe('drafting');
    expect(await page.locator('[data-testid="simulate-actions"]').innerText()).toBe('startDraft · start actor draft as model');
    await page.click('[data-testid="simulate-event"][data-event="xstate.done.actor.model"]');
    expect(await page.locator('[data-testid="simulate-state"]').innerText()).toBe('reporting');
    expect(await page.locator('[data-testid="simulate-actions"]').innerText()).toBe('stop actor model · saveDraft · handOffDraft');
    expect(((await (await fetch(`${studioUrl}/api/runs`)).json()) as { runs: unknown[] }).runs).toHaveLength(runsBefore);
  });

  it('shows a bad edit as a field error on the card, takes the corrected partial edit merged into the proposal, and keeps the decision in the history', async () => {
    await page.goto(`${studioUrl}/#/approvals`);
    const card = page.locator('[data-testid="approval"]');
    await card.waitFor({ timeout: 10_000 });
    const proposal = JSON.parse(await card.locator('pre.json').first().innerText()) as { topic: string; title: string; body: string };
    // "Why" reads as text: the verifier's verdict, field by field, not JSON.
    const why = await card.locator('[data-testid="why"]').innerText();
    expect(why).toMatch(/approved: true/);
    expect(why).not.toMatch(/[{}"]/);
    await page.fill('[data-testid="approver"]', 'ada');
    await card.getByRole('button', { name: 'Edit' }).click();
    await card.locator('[data-testid="edit-proposal"]').fill('{"title":5}');
    await card.locator('[data-testid="approve"]').click();
    const error = card.locator('[data-testid="edit-error"]');
    await error.waitFor({ timeout: 10_000 });
    expect(await error.innerText()).toMatch(/title: Invalid input: expected string, received number/);
    expect(await page.locator('[data-testid="approval"]').count()).toBe(1);

    await card.locator('[data-testid="edit-proposal"]').fill('{"title":"Durable agents, reviewed"}');
    expect(await error.count()).toBe(0);
    await page.fill('input[placeholder="reason (optional)"]', 'clearer title');
    await card.locator('[data-testid="approve"]').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="approval"]').length === 0, undefined, { timeout: 20_000 });
    const decided = page.locator('[data-testid="decided-approval"]');
    await decided.first().waitFor({ timeout: 10_000 });
    const text = await decided.first().innerText();
    expect(text).toMatch(/approved, edited/);
    expect(text).toContain('ada');
    expect(text).toContain(`title: ${JSON.stringify(proposal.title)} → "Durable agents, reviewed"`);
    expect(text).toContain('clearer title');
    expect(await page.locator('[data-testid="approvals-count"]').count()).toBe(0);

    // The run publishes the merged proposal: the new title, the agent's body and topic.
    await expect.poll(() => (readdirSync(publishDir, { withFileTypes: true }).length), { timeout: 20_000 }).toBe(1);
    const published = readFileSync(join(publishDir, readdirSync(publishDir)[0]!), 'utf8');
    expect(published).toMatch(/^# Durable agents, reviewed\n/);
    expect(published).toContain(proposal.body.slice(0, 40));
    expect(published).toContain(`topic: ${proposal.topic}`);
  });

  it('edits the context at a past step, checked against the machine\'s schema, then forks with every agent and shows the lineage', async () => {
    const history = (await (await fetch(`${studioUrl}/api/runs/${runId}/history`)).json()) as { events: { type: string; actorId: string; seq: number; snapshot: { value: unknown } }[] };
    const atPublishing = history.events.find((e) => e.type === '@xstate.snapshot' && e.actorId === runId && e.snapshot.value === 'publishing')!;
    await page.goto(`${studioUrl}/#/runs/${encodeURIComponent(runId)}`);
    await page.locator(`[data-testid="step-row"][data-actor="${runId}"][data-seq="${atPublishing.seq}"]`).click();
    await page.locator('[data-testid="edit-context"]').click();
    const editor = page.locator('[data-testid="edit-context-json"]');
    const context = JSON.parse(await editor.inputValue()) as { stage: string; draft: { title: string } };
    expect(context.stage).toBe('publishing');
    await editor.fill(JSON.stringify({ ...context, stage: 'bogus' }));
    await page.locator('[data-testid="fork-with-context"]').click();
    const error = page.locator('[data-testid="edit-context-error"]');
    expect(await error.innerText({ timeout: 10_000 })).toMatch(/stage: Invalid option: expected one of "checking"\|/);
    expect(new URL(page.url()).hash).toBe(`#/runs/${encodeURIComponent(runId)}`);

    await editor.fill(JSON.stringify({ ...context, draft: { ...context.draft, title: 'A forked title' } }));
    await page.locator('[data-testid="fork-with-context"]').click();
    await page.waitForFunction(() => /^#\/runs\/fork-/.test(window.location.hash), undefined, { timeout: 10_000 });
    const forkId = decodeURIComponent(new URL(page.url()).hash.slice('#/runs/'.length));
    const lineage = page.locator('.run-head [data-testid="lineage"]');
    expect(await lineage.innerText({ timeout: 10_000 })).toBe(`↳ forked from ${runId} at step ${atPublishing.seq}, context edited`);
    // Every agent came along, each with its history; the edit is a step of its own.
    await expectDemoAgents();
    await page.locator('[data-testid="step-row"]', { hasText: 'spine.context.edited' }).waitFor({ timeout: 10_000 });
    const forkHistory = (await (await fetch(`${studioUrl}/api/runs/${forkId}/history`)).json()) as { events: { type: string; actorId: string }[] };
    const agents = new Set(forkHistory.events.filter((e) => e.type === '@xstate.snapshot').map((e) => e.actorId.slice(forkId.length)));
    expect([...agents].sort()).toEqual(['', '/researcher', '/verifier', '/verifier~6', '/writer', '/writer~5']);
    // The fork publishes again only with a person's approval, and proposes the edited title.
    await page.locator('[data-testid="run-waiting"]').waitFor({ timeout: 20_000 });
    const row = await runsListRow(forkId);
    expect(await row.locator('[data-testid="lineage"]').innerText({ timeout: 10_000 })).toContain(`forked from ${runId} at step ${atPublishing.seq}`);
    // The fork goes on from the edited context (the held publish keeps the input recorded at that step).
    const edited = (await (await fetch(`${studioUrl}/api/runs/${forkId}/history`)).json()) as { events: { type: string; actorId: string; event?: { type: string; fields?: string[] }; snapshot?: { context: { draft: { title: string } } } }[] };
    const editStep = edited.events.find((e) => e.type === '@xstate.snapshot' && e.event?.type === 'spine.context.edited')!;
    expect(editStep.event).toEqual({ type: 'spine.context.edited', fields: ['draft'] });
    expect(editStep.snapshot!.context.draft.title).toBe('A forked title');
    expect(((await (await fetch(`${studioUrl}/api/approvals?runId=${forkId}`)).json()) as { approvals: unknown[] }).approvals).toHaveLength(1);
  });

  it('shows a failed run as failed everywhere: the word, a red state and the reason in words', async () => {
    const failed = await spine(['run', 'supervisor', '--input', '{"topic":"x"}', '--machines', machines]);
    expect(failed.code).toBe(1);
    const failedId = /run (\S+) started/.exec(failed.stderr)![1]!;
    expect((await spine(['runs'])).stdout).toMatch(new RegExp(`${failedId}\\s+supervisor\\s+failed\\s`));
    expect(JSON.parse((await spine(['runs', '--json'])).stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ runId: failedId, status: 'failed' })]));

    const row = await runsListRow(failedId);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('.badge').innerText()).toBe('failed');
    await row.click();
    const failure = page.locator('[data-testid="run-failure"]');
    await failure.waitFor({ timeout: 10_000 });
    expect(await failure.innerText()).toMatch(/^Failed[\s\S]*No model provider is configured/);
    const lit = page.locator('[data-testid="state-node"][data-active="true"]').last();
    await lit.waitFor({ timeout: 10_000 });
    expect(await lit.getAttribute('data-tone')).toBe('failed');
    const colour = await lit.evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(colour).toBe('rgb(239, 68, 68)');
  });
});
