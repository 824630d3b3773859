import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startScriptedModelServer, type ScriptedModelServer } from '@spine/scripted-model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, spawnSpine } from './support/spawnSpine.js';

// Confidence-based escalation with the real `spine` process: the triage agent's structured
// answer declares a confidence; its `replying` state is low risk with `minConfidence: 0.7`.
const machines = join(repoRoot, 'test/fixtures/confidence-machines');

let model: ScriptedModelServer;
let effects: Server;
let effectUrl = '';
const delivered: { key: string; body: string }[] = [];
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spine-confidence-'));
  // Not a model: a scripted server that answers by which ticket it is given.
  model = await startScriptedModelServer({
    script: [
      { match: { lastUser: 'refund' }, reply: { json: { reply: 'Your refund is on its way.', confidence: 0.42, reasoning: 'The order id in the ticket matches two orders; I picked the newer one.' } } },
      { match: { lastUser: 'password' }, reply: { json: { reply: 'Use the reset link on the sign-in page.', confidence: 0.95, reasoning: 'A standard password question.' } } },
    ],
  });
  effects = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      delivered.push({ key: String(req.headers['idempotency-key']), body });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => effects.listen(0, '127.0.0.1', resolve));
  effectUrl = `http://127.0.0.1:${(effects.address() as AddressInfo).port}/reply`;
});
afterAll(async () => {
  await model.close();
  await new Promise((resolve) => effects.close(resolve));
});

const env = () => ({ OPENAI_BASE_URL: model.url, SPINE_MODEL: 'scripted', OPENAI_API_KEY: undefined, ANTHROPIC_API_KEY: undefined, SPINE_TEST_EFFECT_URL: effectUrl, SPINE_SECRET: 'confidence-test-secret-0123456789' });
const spine = (args: string[]) => spawnSpine([...args, '--machines', machines], { env: env() });

describe('confidence-based escalation', () => {
  it('acts at once on a low-risk reply the agent is sure of, and only logs it', async () => {
    const db = join(dir, 'sure.db');
    const run = await spine(['run', 'triage', '--db', db, '--input', '{"ticket":"I forgot my password"}', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'done', output: { answer: { confidence: 0.95 }, receipt: { status: 200 } } });
    expect(delivered.filter((d) => d.body.includes('reset link'))).toHaveLength(1);
    const approvals = JSON.parse((await spine(['approvals', '--all', '--db', db, '--json'])).stdout);
    expect(approvals).toEqual([]);
    const audit = JSON.parse((await spine(['audit', '--db', db, '--json'])).stdout).map((a: { kind: string }) => a.kind);
    expect(audit).toContain('activity.logged');
    expect(audit).not.toContain('approval.requested');
  }, 60_000);

  it('sends a low-risk reply the agent is unsure of to the inbox with its confidence and reasoning, audits why, and sends it once approved', async () => {
    const db = join(dir, 'unsure.db');
    const run = await spine(['run', 'triage', '--db', db, '--input', '{"ticket":"Where is my refund for order 1234?"}', '--json']);
    expect(run.code, run.stderr).toBe(3);
    const waiting = JSON.parse(run.stdout);
    expect(waiting).toMatchObject({ status: 'waiting', state: 'replying' });
    expect(delivered.some((d) => d.body.includes('refund'))).toBe(false);

    const listed = await spine(['approvals', '--db', db, '--json']);
    const [approval] = JSON.parse(listed.stdout);
    expect(approval).toMatchObject({
      runId: waiting.runId,
      src: 'sendReply',
      tier: 'medium',
      proposal: { reply: 'Your refund is on its way.' },
      rationale: {
        confidence: 0.42,
        reasoning: 'The order id in the ticket matches two orders; I picked the newer one.',
        escalated: { reason: 'low_confidence', confidence: 0.42, minConfidence: 0.7, confidenceFrom: 'answer.confidence' },
      },
    });
    const text = await spine(['approvals', '--db', db]);
    expect(text.stdout).toContain('[confidence 0.42 < 0.7] The order id');

    const audit = JSON.parse((await spine(['audit', '--run', waiting.runId, '--db', db, '--json'])).stdout);
    const requested = audit.find((a: { kind: string }) => a.kind === 'approval.requested');
    expect(requested.detail).toMatchObject({ tier: 'medium', escalated: { reason: 'low_confidence', confidence: 0.42, minConfidence: 0.7 } });

    const approved = await spine(['approve', waiting.runId, '--as', 'support-lead', '--db', db, '--json']);
    expect(approved.code, approved.stderr).toBe(0);
    expect(delivered.filter((d) => d.body.includes('refund'))).toHaveLength(1);
  }, 60_000);
});
