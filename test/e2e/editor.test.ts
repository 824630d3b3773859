import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { versionOf, type MachineConfigJson } from '@spine/runtime';
import { startScriptedModelServer } from '@spine/scripted-model';
import type { MachineJson, MoveActorJson, SaveMachineResult } from '@spine/server';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { pipelineScript } from '../../machines/scriptedModel.js';
import { ensureStudioBuilt, launchBrowser, ROOT, spineRun, startServe, type ServeProcess } from './support/spine.js';

// The machine editor against a real `spine serve` over a COPY of machines/ (the repository's
// files are never touched): edit the pipeline's writer in Chromium, save, and check the file,
// the versions new and old runs use, and the refusals.

const ARTIFACTS = join(ROOT, 'test/e2e/.artifacts');
let serve: ServeProcess;
let browser: Browser;
let page: Page;
let model: Awaited<ReturnType<typeof startScriptedModelServer>>;
const dir = mkdtempSync(join(tmpdir(), 'spine-editor-'));
const machines = join(dir, 'machines');
const db = join(dir, 'spine.db');
const writerFile = join(machines, 'writer.machine.json');
const original = readFileSync(join(ROOT, 'machines/writer.machine.json'), 'utf8');
const v1 = versionOf(JSON.parse(original) as MachineConfigJson);
let before: { runId: string }; // a run of the writer started before the edit
let toMove: { runId: string };

beforeAll(async () => {
  ensureStudioBuilt();
  cpSync(join(ROOT, 'machines'), machines, { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules')); // the copy imports @spine/llm, xstate, zod
  before = await waitingRun('writer');
  toMove = await waitingRun('writer');
  model = await startScriptedModelServer({ script: pipelineScript() });
  serve = await startServe({ db, machines, env: { OPENAI_BASE_URL: model.url, SPINE_MODEL: 'scripted', OPENAI_API_KEY: undefined, ANTHROPIC_API_KEY: undefined } });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 950 }, deviceScaleFactor: 1 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await serve?.stop();
  await model?.close();
});

/** Starts `spine run <machine>` and waits for it to exit as waiting (the writer waits for `draft.requested`). */
async function waitingRun(machine: string): Promise<{ runId: string; stdout: string }> {
  const run = await spineRun(machine, { db, machines });
  const { code, stdout, stderr } = await run.exited;
  expect(code, stderr).toBe(3);
  return { runId: run.runId, stdout };
}

function actorRow(id: string): { version: string; status: string; state_value: string } {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare('SELECT version, status, state_value FROM actors WHERE id = ?').get(id) as { version: string; status: string; state_value: string };
  } finally {
    d.close();
  }
}

function historyOf(id: string): { version: string; state_value: string; event_type: string }[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare('SELECT version, state_value, event_type FROM history WHERE actor_id = ? ORDER BY seq').all(id) as { version: string; state_value: string; event_type: string }[];
  } finally {
    d.close();
  }
}

async function command<T>(body: Record<string, unknown>): Promise<{ ok: true; result: T } | { ok: false; error: { code: string; message: string; issues?: { rule?: string; element?: unknown }[] } }> {
  const ws = new WebSocket(`${serve.url.replace('http', 'ws')}/ws`);
  try {
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return await new Promise((resolve) => {
      ws.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string; id?: string; ok?: boolean; result?: T; error?: never };
        if (message.type === 'reply' && message.id === 'c1') resolve(message.ok ? { ok: true, result: message.result as T } : { ok: false, error: message.error! });
      });
      ws.send(JSON.stringify({ ...body, id: 'c1' }));
    });
  } finally {
    ws.close();
  }
}

const node = (path: string) => page.locator(`[data-testid="editor-state"][data-path="${path}"]`);

describe('machine editor end to end, in Chromium against a real `spine serve`', () => {
  it('saves every machine of machines/ back byte-identical when nothing changed (server and browser)', async () => {
    const { machines: list } = (await (await fetch(`${serve.url}/api/machines`)).json()) as { machines: MachineJson[] };
    const sources = list.filter((m) => m.source?.config);
    expect(sources.map((m) => m.name)).toEqual(expect.arrayContaining(['researcher', 'supervisor', 'verifier', 'writer']));
    for (const m of sources) {
      const file = join(machines, m.source!.file);
      const text = readFileSync(file, 'utf8');
      const reply = await command<SaveMachineResult>({ type: 'saveMachine', machine: m.name, config: m.source!.config, baseVersion: m.source!.version });
      expect(reply, m.name).toMatchObject({ ok: true, result: { changed: false, version: m.source!.version } });
      expect(readFileSync(file, 'utf8')).toBe(text);
    }

    await page.goto(`${serve.url}/#/editor/writer`);
    await node('drafting').waitFor();
    await expect.poll(() => page.locator('[data-testid="machine-editor"]').getAttribute('data-dirty')).toBe('false');
    await page.locator('[data-testid="save-machine"]').click();
    await expect.poll(() => page.locator('[data-testid="editor-message"]').innerText()).toContain('writer.machine.json is unchanged');
    expect(readFileSync(writerFile, 'utf8')).toBe(original);
  });

  it('adds a state and a transition to the writer, flags problems on the element while editing, saves, and `spine run` uses the new version while an older run finishes on its own', async () => {
    // A new state: unreachable and a dead end until it gets a way in and is made final.
    await page.locator('[data-testid="add-state"]').click();
    await node('state').waitFor();
    const name = page.locator('[data-testid="state-name"]');
    await name.fill('timedOut');
    await name.press('Enter');
    await node('timedOut').waitFor();
    await expect.poll(() => node('timedOut').getAttribute('data-issues')).toBe('2');
    const issues = page.locator('[data-testid="issue"]');
    await expect.poll(() => issues.allInnerTexts()).toEqual([
      "states.timedOut state 'timedOut' is unreachable: no transition leads to it",
      "states.timedOut state 'timedOut' has no way out and is not final: add a transition that leaves it, or make it final",
    ]);
    expect(await page.locator('[data-testid="save-machine"]').isDisabled()).toBe(true);
    await page.locator('[data-testid="state-kind"]').selectOption('final');
    await expect.poll(() => issues.count()).toBe(1);

    // Draw idle -> timedOut with the transition tool (nothing selected: it asks for the source), then make it a delay.
    await page.locator('.react-flow__pane').click({ position: { x: 10, y: 10 } });
    await page.locator('[data-testid="draw-transition"]').click();
    await node('idle').click();
    await node('timedOut').click();
    await expect.poll(() => page.locator('[data-testid="transition-kind"]').count()).toBe(1);
    await expect.poll(() => issues.allInnerTexts()).toEqual(["states.idle.on.event event 'event' is not in the machine's event schemas (accepted: draft.requested)"]);
    await page.locator('[data-testid="transition-kind"]').selectOption('after');
    const delay = page.locator('[data-testid="transition-delay"]');
    await delay.fill('3600000');
    await delay.press('Enter');
    await expect.poll(() => issues.count()).toBe(0);

    // An action the implementation does not have: flagged on the edge, and Save is refused.
    const addAction = page.locator('[data-testid="transition-actions-add"]');
    await addAction.fill('launchRockets');
    await addAction.press('Enter');
    await expect.poll(() => issues.allInnerTexts()).toEqual(["states.idle.after.3600000.actions unknown action 'launchRockets'"]);
    await expect.poll(() => page.locator('.react-flow__edge.edge-issue').count()).toBe(1);
    expect(await page.locator('[data-testid="save-machine"]').isDisabled()).toBe(true);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'editor-unknown-action.png') });
    await page.keyboard.press('Control+s');
    await expect.poll(() => page.locator('[data-testid="editor-message"]').innerText()).toContain('Not saved: 1 problem to fix first');
    expect(readFileSync(writerFile, 'utf8')).toBe(original);

    // Undo it from the keyboard (focus off the field first), then save with Ctrl+S.
    await page.locator('.react-flow__pane').click({ position: { x: 10, y: 10 } });
    await page.keyboard.press('Control+z');
    await expect.poll(() => issues.count()).toBe(0);
    await expect.poll(() => page.locator('.react-flow__edge.edge-issue').count()).toBe(0);
    await page.keyboard.press('Control+s');
    await expect.poll(() => page.locator('[data-testid="editor-message"]').innerText()).toMatch(/^Saved writer\.machine\.json: version [0-9a-f]{16}; new runs use it\.$/);
    await expect.poll(() => page.locator('[data-testid="machine-editor"]').getAttribute('data-dirty')).toBe('false');

    // The file changed by exactly the edit, in its own formatting.
    const text = readFileSync(writerFile, 'utf8');
    const saved = JSON.parse(text) as MachineConfigJson & { states: Record<string, Record<string, unknown>> };
    expect(saved.states.timedOut).toEqual({ type: 'final' });
    expect(saved.states.idle!.after).toEqual({ 3600000: { target: 'timedOut' } });
    const drafting = original.slice(original.indexOf('    "drafting"'), original.indexOf('    "reporting"'));
    expect(text).toContain(drafting);
    expect(text.endsWith('}\n')).toBe(true);
    const v2 = versionOf(saved);
    expect(v2).not.toBe(v1);
    expect(JSON.parse(readFileSync(join(machines, 'writer.layout.json'), 'utf8')).positions.timedOut).toEqual({ x: expect.any(Number), y: expect.any(Number) });

    // `spine run` (a new process, reading the directory) starts on the new version: idle now has the timeout.
    const after = await waitingRun('writer');
    expect(actorRow(after.runId).version).toBe(v2);
    expect(JSON.parse(after.stdout)).toMatchObject({ status: 'waiting', state: 'idle', nextWakeAt: expect.any(Number) });

    // The run started before the edit stays on v1 and finishes there (the model is a scripted server).
    expect(actorRow(before.runId).version).toBe(v1);
    const event = { type: 'draft.requested', topic: 'durable agents', notes: [{ source: 'notes.md', text: 'Agents resume where they stopped.' }], revision: 0, feedback: [], previous: null, budget: {}, runBudget: {} };
    const sent = await fetch(`${serve.url}/api/runs/${before.runId}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event }) });
    expect(sent.status, await sent.clone().text()).toBe(202);
    await expect.poll(() => actorRow(before.runId).status, { timeout: 20_000 }).toBe('done');
    const steps = historyOf(before.runId);
    expect(new Set(steps.map((s) => s.version))).toEqual(new Set([v1]));
    expect(steps.map((s) => JSON.parse(s.state_value))).toContain('reporting');
    expect(steps.at(-1)!.state_value).toBe('"abandoned"');
  });

  it('refuses, when sent directly to the server, an edit that leaves a state unreachable or names an unknown action', async () => {
    const text = readFileSync(writerFile, 'utf8');
    const config = JSON.parse(text);
    config.states.orphan = { type: 'final' };
    config.states.drafting.invoke.onDone.actions = 'publishEverywhere';
    const res = await fetch(`${serve.url}/api/machines/writer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config }) });
    expect(res.status).toBe(422);
    const { error } = (await res.json()) as { error: { code: string; message: string; issues: { rule: string; element: unknown }[] } };
    expect(error.code).toBe('invalid_machine');
    expect(error.message).toContain("states.drafting.invoke[0].onDone.actions: unknown action 'publishEverywhere'");
    expect(error.message).toContain("states.orphan: state 'orphan' is unreachable");
    expect(error.issues.map((i) => i.element)).toEqual([{ state: ['drafting'], transition: { source: 'invoke.onDone', invoke: 0, index: 0 } }, { state: ['orphan'] }]);
    const ws = await command({ type: 'saveMachine', machine: 'writer', config });
    expect(ws).toMatchObject({ ok: false, error: { code: 'invalid_machine' } });
    expect(readFileSync(writerFile, 'utf8')).toBe(text);
  });

  it('moves a run started before the edit to the new version on request, from the run view', async () => {
    const v2 = versionOf(JSON.parse(readFileSync(writerFile, 'utf8')));
    expect(actorRow(toMove.runId).version).toBe(v1);
    await page.goto(`${serve.url}/#/runs/${toMove.runId}`);
    await expect.poll(() => page.locator('[data-testid="actor-version"]').innerText()).toContain(`v ${v1}`);
    await page.locator('[data-testid="move-version"]').click();
    await expect.poll(() => page.locator('[data-testid="actor-version"]').innerText()).toContain(`Moved to ${v2}.`);
    expect(actorRow(toMove.runId)).toMatchObject({ version: v2, status: 'active', state_value: '"idle"' });
    expect(historyOf(toMove.runId).at(-1)).toMatchObject({ event_type: 'spine.version.moved', version: v2 });
    // Over the WebSocket, a second request finds it already there.
    const again = await command<MoveActorJson>({ type: 'moveActor', actorId: toMove.runId });
    expect(again).toEqual({ ok: true, result: { actorId: toMove.runId, machine: 'writer', from: v2, to: v2, state: 'idle', moved: false } });
  });

  it('creates a machine from scratch and says which names need implementations', async () => {
    await page.goto(`${serve.url}/#/editor`);
    await page.locator('[data-testid="new-machine-name"]').fill('triage');
    await page.locator('[data-testid="new-machine-name"]').press('Enter');
    await node('idle').waitFor();
    await page.locator('[data-testid="draw-transition"]').click();
    await node('idle').click();
    await node('done').click();
    const event = page.locator('[data-testid="transition-event"]');
    await event.fill('ticket.opened');
    await event.press('Enter');
    const addAction = page.locator('[data-testid="transition-actions-add"]');
    await addAction.fill('classify');
    await addAction.press('Enter');
    await expect.poll(() => page.locator('[data-testid="needs-implementation"]').innerText()).toContain('actions: classify');
    await page.locator('[data-testid="save-machine"]').click();
    await expect.poll(() => page.locator('[data-testid="editor-message"]').innerText()).toMatch(/^Created triage\.machine\.json: version [0-9a-f]{16}\.$/);
    expect(JSON.parse(readFileSync(join(machines, 'triage.machine.json'), 'utf8'))).toEqual({
      id: 'triage',
      initial: 'idle',
      states: { idle: { on: { 'ticket.opened': { target: 'done', actions: 'classify' } } }, done: { type: 'final' } },
    });
    expect(readFileSync(join(machines, 'triage.ts'), 'utf8')).toContain('"classify": () => {}, // TODO');
    const needs = await page.locator('[data-testid="needs-implementation"]').innerText();
    expect(needs).toContain('events: ticket.opened');
    expect(needs).toContain('triage.ts was written with a stub for each');
  });
});
