import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startScriptedModelServer } from '@spine/scripted-model';
import { describe, expect, it } from 'vitest';
import { spawnSpine, type SpineExit } from './support/spawnSpine.js';
import { pipelineScript } from '../machines/scriptedModel.js';

// The pipeline through the real `spine` command (built dist/; run `npx tsc -b` first).

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs spine with no provider configured unless the test sets one. */
function spine(args: string[], env: Record<string, string | undefined>): Promise<SpineExit> {
  const none = { OPENAI_BASE_URL: undefined, OPENAI_API_KEY: undefined, ANTHROPIC_API_KEY: undefined, SPINE_MODEL: undefined, SPINE_PROVIDER: undefined };
  return spawnSpine(args, { env: { ...none, ...env } });
}

function tempDir() {
  return mkdtempSync(join(tmpdir(), 'spine-pipeline-cli-'));
}

describe('the pipeline from the spine command', () => {
  it('runs the offline demo on a scripted server, says plainly that it is not a model, and shows the ledger', async () => {
    expect(existsSync(join(root, 'packages/cli/dist/commands/demo.js'))).toBe(true);
    const dir = tempDir();
    const db = join(dir, 'demo.db');
    const demo = await spine(['demo', '--db', db], { SPINE_PUBLISH_DIR: join(dir, 'published') });
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/^offline demo: model calls go to a scripted Chat Completions server on 127\.0\.0\.1:\d+ — not a model\./);
    expect(demo.stdout).toMatch(/"status": "published"/);
    expect(demo.stdout).toMatch(/totals by agent/);
    expect(readdirSync(join(dir, 'published'))).toHaveLength(1);

    const runId = /run (run-[\w-]+): /.exec(demo.stdout)![1]!;
    const shown = await spine(['show', runId, '--db', db, '--json'], {});
    expect(shown.code).toBe(0);
    const report = JSON.parse(shown.stdout);
    expect(Object.keys(report.ledger.byAgent)).toEqual(['researcher', 'supervisor', 'verifier', 'writer']);
    expect(Object.keys(report.ledger.byModel)).toEqual(['scripted']);
    expect(report.ledger.total.tokens).toBeGreaterThan(0);
    expect(report.ledger.total.costUsd).toBeGreaterThan(0);
    const spent = report.steps.filter((s: { spend: unknown }) => s.spend);
    expect(spent.map((s: { agent: string }) => s.agent)).toEqual(['researcher', 'researcher', 'researcher', 'writer', 'verifier', 'writer', 'verifier', 'supervisor']);
    expect(report.ledger.breakers.map((b: { state: string }) => b.state)).toEqual(['closed', 'closed', 'closed']);
    const text = await spine(['show', runId, '--db', db], {});
    expect(text.stdout).toMatch(/xstate\.done\.actor\.model\s+usingTool\s+\d+\/\d+\s+\$\d\.\d+\s+\d+ms/);
    expect(text.stdout).toMatch(/tokens IN\/OUT/i);
  }, 60_000);

  it('fails a run at once without a provider, pointing at the offline demo', async () => {
    const run = await spine(['run', 'supervisor', '--db', join(tempDir(), 'x.db'), '--input', '{"topic":"x"}'], {});
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/No model provider is configured\. Set OPENAI_BASE_URL/);
    expect(run.stderr).toMatch(/run `npm start`: the offline demo runs on a scripted Chat Completions server \(not a model\)/);
  }, 30_000);

  it('uses a configured provider, prints which, waits out a rate limit durably, and runs the pipeline to a published report', async () => {
    const server = await startScriptedModelServer({
      script: [{ match: { system: 'You are the writer agent' }, times: 1, fault: { kind: 'rate_limit', retryAfterSeconds: 0.2 } }, ...pipelineScript()],
    });
    try {
      const dir = tempDir();
      const env = { OPENAI_BASE_URL: server.url, SPINE_MODEL: 'scripted', SPINE_PUBLISH_DIR: join(dir, 'published') };
      const run = await spine(['run', 'supervisor', '--db', join(dir, 'r.db'), '--input', '{"topic":"circuit breakers"}', '--json'], env);
      expect(run.stderr).toContain(`spine: model provider: OpenAI-compatible endpoint at ${server.url}, model scripted`);
      // Publishing is medium risk: the run stops for a person (exit 3) until someone approves.
      expect(run.code).toBe(3);
      const waiting = JSON.parse(run.stdout);
      expect(waiting).toMatchObject({ status: 'waiting', state: 'publishing' });
      const listed = JSON.parse((await spine(['approvals', '--db', join(dir, 'r.db'), '--json'], env)).stdout) as { runId: string; src: string }[];
      expect(listed).toMatchObject([{ runId: waiting.runId, src: 'publish' }]);
      const approved = await spine(['approve', waiting.runId, '--as', 'reviewer', '--db', join(dir, 'r.db'), '--json'], env);
      expect(approved.code, approved.stderr).toBe(0);
      const outcome = JSON.parse(approved.stdout).outcome;
      expect(outcome).toMatchObject({ status: 'done', output: { status: 'published', provider: { baseURL: server.url } } });
      // The machines' RetryableError reached the host as one (durable wait), not as a failure.
      const shown = JSON.parse((await spine(['show', outcome.runId, '--db', join(dir, 'r.db'), '--json'], {})).stdout);
      const draft = shown.ledger.calls.filter((c: { activity: string }) => c.activity === 'draft').map((c: { decision: string }) => c.decision);
      expect(draft.slice(0, 2)).toEqual(['retry', 'ok']);
      const demo = await spine(['demo', '--db', join(dir, 'd.db')], env);
      expect(demo.code).toBe(0);
      expect(demo.stdout).toMatch(new RegExp(`^demo: model calls go to the OpenAI-compatible endpoint at ${server.url.replace(/[.]/g, '\\.')}`));
      expect(demo.stdout).not.toMatch(/offline demo/);
    } finally {
      await server.close();
    }
  }, 60_000);
});
