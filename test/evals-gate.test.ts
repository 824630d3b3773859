import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startScriptedModelServer } from '@spine/scripted-model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evalScript } from '../evals/scripted.js';
import { repoRoot, spawnSpine, type SpineExit } from './support/spawnSpine.js';

// `spine eval` as the CI gate: the real `spine` process (built dist/) runs the research pipeline's
// suite (evals/research.eval.ts) on the scripted server. A worsened prompt and a costlier prompt
// are made the way a developer would make them: by editing a copy of machines/.

const none = { OPENAI_BASE_URL: undefined, OPENAI_API_KEY: undefined, ANTHROPIC_API_KEY: undefined, SPINE_MODEL: undefined, SPINE_PROVIDER: undefined };
const spine = (args: string[], env: Record<string, string | undefined> = {}, more: { killWhen?: () => boolean } = {}): Promise<SpineExit> =>
  spawnSpine(args, { env: { ...none, ...env }, ...more });

// Inside the repo (a dot directory, which vitest and tsc do not collect), so the copied machines resolve the workspace's packages.
const scratch = join(repoRoot, 'test', `.tmp-evals-${process.pid}`);
let dir: string;
let baseline: string;

/** A copy of machines/ with one source edit, as a developer's change would be. */
function editedMachines(name: string, file: string, from: string | RegExp, to: string): string {
  const target = join(scratch, name);
  cpSync(join(repoRoot, 'machines'), target, { recursive: true, filter: (src) => !src.endsWith('.test.ts') });
  const path = join(target, file);
  const before = readFileSync(path, 'utf8');
  const after = before.replace(from, to);
  expect(after, `the edit of ${file} must change it`).not.toBe(before);
  writeFileSync(path, after);
  return target;
}

interface Check {
  metric: string;
  check: string;
  held: boolean;
  value: number;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'spine-evals-'));
  baseline = join(dir, 'baseline.json');
  mkdirSync(scratch, { recursive: true });
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('spine eval as the CI gate', () => {
  it('runs the research suite, each case a durable run, and exits 0 when every threshold holds', async () => {
    const db = join(dir, 'gate.db');
    const run = await spine(['eval', 'research', '--repeat', '1', '--db', db, '--save', baseline, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/offline eval: .* scripted Chat Completions server .* not a model/);
    const report = JSON.parse(run.stdout);
    expect(report.passed).toBe(true);
    expect(report.checks.map((c: Check) => [c.metric, c.held])).toEqual([
      ['task_completion', true],
      ['tool_selection_error_rate', true],
      ['judge_mean', true],
    ]);
    expect(report.metrics.task_completion).toBe(1);
    expect(report.metrics.tool_selection_error_rate).toBe(0);
    expect(report.metrics.judge_mean).toBeGreaterThanOrEqual(8);
    expect(report.totals.tokens).toBeGreaterThan(0);
    expect(report.totals.costUsd).toBeGreaterThan(0);
    expect(report.results).toHaveLength(3);
    // Every case is an ordinary durable run: `spine show` opens it (as the studio does).
    const shown = await spine(['show', report.results[0].runId, '--db', db, '--json']);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout).run).toMatchObject({ machine: 'supervisor', status: 'done' });
    // The publish approval was decided by the harness, signed and audited under its name.
    const audit = await spine(['audit', '--run', report.results[0].runId, '--db', db, '--json']);
    expect(JSON.parse(audit.stdout).map((a: { kind: string; who: string }) => `${a.kind}:${a.who}`)).toContain('approval.approved:spine-eval');
    expect(JSON.parse(readFileSync(baseline, 'utf8')).metrics).toMatchObject({ task_completion: 1, tool_selection_error_rate: 0 });
  }, 90_000);

  it('fails the gate (exit 1) when the researcher prompt no longer asks for the search tool, and says which thresholds broke', async () => {
    const machines = editedMachines('worse-prompt', 'prompts.ts', 'Use the search tool to gather facts about the topic', 'Gather facts about the topic from what you know');
    const run = await spine(['eval', 'research', '--repeat', '1', '--cases', 'durable-execution,rate-limits', '--machines', machines, '--db', join(dir, 'worse.db')]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^tool_selection_error_rate\s+1\s+threshold\s+<= 0\.1\s+NO$/m);
    expect(run.stdout).toMatch(/^judge_mean\s+7\.5\s+threshold\s+>= 8\s+NO$/m);
    expect(run.stdout).toMatch(/^task_completion\s+1\s+threshold\s+>= 0\.9\s+yes$/m);
    expect(run.stdout).toMatch(/tools: did not call search/);
    expect(run.stdout).toMatch(/FAIL: tool_selection_error_rate \(threshold\), judge_mean \(threshold\) did not hold/);
  }, 90_000);

  it('fails the gate (exit 1) against the saved baseline when a prompt change makes every run cost more, though every threshold holds', async () => {
    expect(existsSync(baseline)).toBe(true);
    const styleGuide = ' Follow the house style guide: '.concat('Prefer short declarative sentences, active verbs and concrete nouns; avoid hedging. '.repeat(60));
    const machines = editedMachines('costly-prompt', 'prompts.ts', "naming the sources you use. Answer with JSON", `naming the sources you use.${styleGuide}Answer with JSON`);
    const run = await spine(['eval', 'research', '--repeat', '1', '--machines', machines, '--db', join(dir, 'costly.db'), '--baseline', baseline, '--json']);
    expect(run.code, run.stderr).toBe(1);
    const report = JSON.parse(run.stdout);
    const broken = report.checks.filter((c: Check) => !c.held).map((c: Check) => `${c.metric} (${c.check})`);
    expect(broken).toEqual(['tokens_per_run (baseline)', 'cost_per_run_usd (baseline)']);
    expect(report.checks.filter((c: Check) => c.check === 'threshold').every((c: Check) => c.held)).toBe(true);
    expect(report.metrics.tokens_per_run).toBeGreaterThan(JSON.parse(readFileSync(baseline, 'utf8')).metrics.tokens_per_run * 1.1);
  }, 90_000);

  it('refuses a baseline that is not one, naming the file', async () => {
    const bad = join(dir, 'bad-baseline.json');
    writeFileSync(bad, '{"metrics": {"judge_mean": "high"}}');
    const run = await spine(['eval', 'research', '--baseline', bad, '--db', join(dir, 'bad.db')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`--baseline ${bad}: metric 'judge_mean' is not a number`);
  }, 30_000);
});

describe('a crashed spine eval', () => {
  it('resumes its session after SIGKILL without paying again for any model call that had finished', async () => {
    const server = await startScriptedModelServer({ script: evalScript() });
    try {
      const db = join(dir, 'crash.db');
      const env = { OPENAI_BASE_URL: server.url, SPINE_MODEL: 'scripted' };
      const args = ['eval', 'research', '--repeat', '1', '--cases', 'rate-limits,circuit-breakers', '--db', db, '--json'];
      const killed = await spine(args, env, { killWhen: () => server.requests.length >= 7 });
      expect(killed.signal).toBe('SIGKILL');
      const before = server.requests.length;
      const resumed = await spine(args, env);
      expect(resumed.code, resumed.stderr).toBe(0);
      const report = JSON.parse(resumed.stdout);
      expect(report.resumed).toBe(true);
      expect(report.results.map((r: { caseId: string }) => r.caseId).sort()).toEqual(['circuit-breakers', 'rate-limits']);
      expect(server.requests.length).toBeGreaterThan(before);
      // A call is paid twice only if it was in flight at the kill: at most one per running case.
      const counts = new Map<string, number>();
      for (const r of server.requests) counts.set(r.idempotencyKey ?? '', (counts.get(r.idempotencyKey ?? '') ?? 0) + 1);
      const repaid = [...counts.values()].filter((n) => n > 1);
      expect(repaid.length).toBeLessThanOrEqual(2);
      expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
      // Every request carried a key (the runtime's activity key, or the judge's).
      expect(counts.has('')).toBe(false);
    } finally {
      await server.close();
    }
  }, 120_000);
});

describe('component evals and online scoring', () => {
  it('evaluates the researcher alone: the tool it called and its answer against its schema', async () => {
    const run = await spine(['eval', 'researcher', '--db', join(dir, 'component.db'), '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ kind: 'component', machine: 'researcher', passed: true });
    expect(report.metrics).toMatchObject({ task_completion: 1, tool_selection_error_rate: 0, 'answer_schema.pass_rate': 1, 'sourced_notes.mean': 1 });
  }, 60_000);

  it('scores a sample of finished production runs once each, stored with the run and its machine version', async () => {
    const db = join(dir, 'production.db');
    const demo = await spine(['demo', '--db', db, '--approve', 'auto', '--json'], { SPINE_PUBLISH_DIR: join(dir, 'published') });
    expect(demo.code, demo.stderr).toBe(0);
    const runId = JSON.parse(demo.stdout).outcome.runId as string;
    const first = await spine(['eval', '--online', 'research', '--sample', '1', '--db', db, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout);
    expect(report.scored.map((r: { runId: string }) => r.runId)).toEqual([runId]);
    const scores = report.scored[0].scores;
    // Only scorers that need no dataset expectation run online.
    expect(Object.keys(scores).sort()).toEqual(['cites_sources', 'judge', 'output_schema', 'revisions', 'tools', 'within_300_words']);
    expect(scores.judge.value).toBeGreaterThan(0);
    expect(Object.keys(report.byVersion)).toHaveLength(1);
    const again = JSON.parse((await spine(['eval', '--online', 'research', '--sample', '1', '--db', db, '--json'])).stdout);
    expect(again.scored).toEqual([]);
    expect(again.candidates).toBe(0);
  }, 90_000);
});
