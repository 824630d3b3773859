import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NewActor, StepCommit } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `spine show` of a 10,000-step run and `spine runs` over 100,000 runs, through the built binary,
// on databases written through the Store in big transactions. Correctness and paging only: the
// timings are `spine bench`'s business.
const bin = fileURLToPath(new URL('../../bin/spine.js', import.meta.url));
const T0 = 1_700_000_000_000;
const STEPS = 10_000;
const RUNS = 100_000;

function spine(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, SPINE_DB: '', NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function commit(actorId: string, expectedSeq: number, eventId: number, eventType: string, extra: Partial<StepCommit> = {}): StepCommit {
  const state = `s${(expectedSeq + 1) % 7}`;
  return {
    actorId,
    expectedSeq,
    eventId,
    snapshot: JSON.stringify({ status: 'active', value: state, context: {}, children: {} }),
    stateValue: JSON.stringify(state),
    status: 'active',
    output: null,
    error: null,
    history: { eventType, event: JSON.stringify({ type: eventType, n: expectedSeq + 1 }), version: 'v1', emitted: null, startedAt: T0 + expectedSeq, durationUs: 5 },
    messages: [],
    cancelTimers: [],
    jobs: [],
    cancelJobs: [],
    spawn: [],
    stop: [],
    deadLetters: [],
    ...extra,
  };
}

let dir: string;
let longDb: string;
let manyDb: string;
/** Tokens journaled by the job whose result step `seq` of the root applied. */
const spent = new Map<number, number>();

/**
 * A run of 10,000 steps over two actors: the root (every 7th of its steps is a child step) asks
 * for the `work` activity at every 100th step, whose result (with a journaled model call) is its next step.
 */
async function writeLongRun(path: string) {
  const store = await SqliteStore.open(path);
  const root: NewActor = { id: 'long', runId: 'long', parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null };
  const child: NewActor = { id: 'long/c', runId: 'long', parentId: 'long', childKey: 'c', machine: 'helper', version: 'v1', owner: null };
  await store.createActors([root, child], []);
  const seq = new Map([['long', 0], ['long/c', 0]]);
  const order = Array.from({ length: STEPS }, (_, i) => (i % 7 === 6 ? 'long/c' : 'long'));
  // Every event up front, in one transaction; the result of the `work` job requested at a step is the next event of the root.
  const types: string[] = [];
  let rootSteps = 0;
  for (const actorId of order) {
    if (actorId === 'long') {
      rootSteps++;
      types.push(rootSteps > 1 && (rootSteps - 1) % 100 === 0 ? 'xstate.done.actor.work' : 'go');
    } else types.push('go');
  }
  const ids = await store.enqueue(order.map((actorId, i) => ({ actorId, type: types[i]!, event: JSON.stringify({ type: types[i] }), dueAt: T0, source: 'external' })));
  for (let i = 0; i < STEPS; i++) {
    const actorId = order[i]!;
    const at = seq.get(actorId)!;
    const jobs = actorId === 'long' && (at + 1) % 100 === 0 ? [{ key: `long:${at + 1}:0`, actorId, runId: 'long', childId: 'work', src: 'work', input: '{}', runAt: T0 }] : [];
    expect(await store.commitStep(commit(actorId, at, ids[i]!, types[i]!, { jobs }))).toEqual({ ok: true });
    seq.set(actorId, at + 1);
  }
  // Each job ran once and journaled one model call; its tokens are its request seq.
  for (let requestedAt = 100; requestedAt < seq.get('long')!; requestedAt += 100) {
    const key = `long:${requestedAt}:0`;
    await store.claimJob(key, 'host', T0, []);
    const journal = JSON.stringify([{ call: 'model', model: 'm1', usage: { inputTokens: requestedAt, outputTokens: 1 }, costUsd: 0, latencyMs: 3 }]);
    await store.completeJob({ key, owner: 'host', status: 'done', output: '{}', error: null, journal, event: { actorId: 'long', type: 'noop', event: '{"type":"noop"}', dueAt: Number.MAX_SAFE_INTEGER, source: 'activity' } });
    spent.set(requestedAt + 1, requestedAt);
  }
  await store.close();
}

/** 100,000 runs in batches of 1,000 that share a creation time (so paging must break ties by id), each with a child actor for every tenth. */
async function writeManyRuns(path: string) {
  let clock = T0;
  const store = await SqliteStore.open(path, { now: () => clock });
  for (let batch = 0; batch < RUNS / 1000; batch++) {
    clock += 1000;
    const actors: NewActor[] = [];
    for (let i = 0; i < 1000; i++) {
      const id = `run-${String((i * 7919) % 1000).padStart(3, '0')}-${batch}`;
      actors.push({ id, runId: id, parentId: null, childKey: null, machine: 'm', version: 'v1', owner: null });
      if (i % 10 === 0) actors.push({ id: `${id}/child`, runId: id, parentId: id, childKey: 'child', machine: 'helper', version: 'v1', owner: null });
    }
    await store.createActors(actors, []);
  }
  await store.close();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spine-paged-'));
  longDb = join(dir, 'long.db');
  manyDb = join(dir, 'many.db');
  await writeLongRun(longDb);
  await writeManyRuns(manyDb);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface ShowJson {
  page: { cursor: number; limit: number; first: number; total: number; next: number | null };
  steps: { actorId: string; seq: number; event: { type: string; n: number }; spend: { tokens: { input: number } } | null }[];
  jobs: { key: string }[];
  ledger: { total: { calls: number } };
}

describe('spine show of a 10,000-step run', () => {
  it('pages through every step once, in commit order, numbered, with each activity spend on the step that applied it', async () => {
    const steps: ShowJson['steps'] = [];
    const jobs: string[] = [];
    let cursor = 0;
    let pages = 0;
    for (;;) {
      const r = await spine(['show', 'long', '--db', longDb, '--json', '--limit', '3000', ...(cursor ? ['--cursor', String(cursor)] : [])]);
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as ShowJson;
      expect(report.page).toMatchObject({ first: steps.length + 1, total: STEPS, limit: 3000, cursor });
      expect(report.ledger.total.calls).toBe(spent.size); // totals are the whole run's on every page
      steps.push(...report.steps);
      jobs.push(...report.jobs.map((j) => j.key));
      pages++;
      if (report.page.next === null) break;
      expect(report.steps).toHaveLength(3000);
      cursor = report.page.next;
    }
    expect(pages).toBe(4);
    expect(steps).toHaveLength(STEPS);
    const bySeq = { long: [] as number[], 'long/c': [] as number[] };
    for (const s of steps) bySeq[s.actorId as keyof typeof bySeq].push(s.seq);
    expect(bySeq.long).toEqual(Array.from({ length: bySeq.long.length }, (_, i) => i + 1));
    expect(bySeq['long/c']).toEqual(Array.from({ length: bySeq['long/c'].length }, (_, i) => i + 1));
    expect(bySeq.long.length + bySeq['long/c'].length).toBe(STEPS);
    // The events are the ones committed, in that order (each carries its actor's seq).
    expect(steps.every((s) => s.event.n === s.seq)).toBe(true);
    // Every job listed once, on the page of the step that requested it.
    expect(jobs.sort()).toEqual([...spent.keys()].map((s) => `long:${s - 1}:0`).sort());
    const withSpend = steps.filter((s) => s.spend !== null);
    expect(withSpend.map((s) => [s.actorId, s.seq, s.spend!.tokens.input])).toEqual([...spent].map(([seq, tokens]) => ['long', seq, tokens]));
  });

  it('shows the first 1,000 steps by default and says how to see the rest', async () => {
    const r = await spine(['show', 'long', '--db', longDb]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`steps 1-1000 of ${STEPS}`);
    const next = /more steps: spine show long --cursor (\d+)/.exec(r.stdout);
    expect(next).not.toBeNull();
    const rows = r.stdout.split('\n').filter((line) => /^\s*\d+\s+(m|helper)\s/.test(line));
    expect(rows).toHaveLength(1000);
    const last = await spine(['show', 'long', '--db', longDb, '--cursor', next![1]!, '--limit', String(STEPS)]);
    expect(last.stdout).toContain(`steps 1001-${STEPS} of ${STEPS}`);
    expect(last.stdout).not.toContain('more steps');
  });
});

interface RunJson {
  runId: string;
  createdAt: number;
  cursor: string;
}

describe('spine runs over 100,000 runs', () => {
  it('pages through every run once, newest first (ties by id), and says when there are more', async () => {
    const seen: RunJson[] = [];
    let cursor: string | undefined;
    for (let page = 0; ; page++) {
      const r = await spine(['runs', '--db', manyDb, '--json', '--limit', '20000', ...(cursor ? ['--cursor', cursor] : [])]);
      expect(r.code, r.stderr).toBe(0);
      const runs = JSON.parse(r.stdout) as RunJson[];
      seen.push(...runs);
      const more = /more runs: spine runs --cursor (\S+) --limit 20000/.exec(r.stderr);
      if (!more) break;
      expect(runs).toHaveLength(20000);
      expect(more[1]).toBe(runs.at(-1)!.cursor);
      cursor = more[1];
      expect(page).toBeLessThan(5);
    }
    expect(seen).toHaveLength(RUNS);
    expect(new Set(seen.map((r) => r.runId)).size).toBe(RUNS);
    expect(seen.every((r) => !r.runId.includes('/'))).toBe(true);
    const sorted = [...seen].sort((a, b) => b.createdAt - a.createdAt || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
    expect(seen.map((r) => r.runId)).toEqual(sorted.map((r) => r.runId));
  });

  it('lists the newest 100 by default with the command for the next page, and refuses a cursor it did not print', async () => {
    const r = await spine(['runs', '--db', manyDb]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => /^run-\d{3}-99\s/.test(l))).toHaveLength(100);
    expect(lines.at(-1)).toMatch(/^more runs: spine runs --cursor \S+$/);
    const bad = await spine(['runs', '--db', manyDb, '--cursor', 'not-a-cursor']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--cursor 'not-a-cursor' is not a cursor printed by `spine runs`");
  });
});
