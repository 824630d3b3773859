import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { traceIdOfRun } from '@spine/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSpine, type SpineExit } from './support/spawnSpine.js';

// The real `spine` process exporting OTLP/HTTP (JSON) to a receiver this test runs,
// with fake API keys in its environment that must end up nowhere.
const root = fileURLToPath(new URL('..', import.meta.url));
const machines = join(root, 'test/fixtures/approval-machines');

const FAKE = {
  OPENAI_API_KEY: 'sk-fake-openai-7d1b0c5e9a2f4e11',
  ANTHROPIC_API_KEY: 'sk-ant-fake-3f9e2d1c0b7a6958',
  SPINE_SECRET: 'fake-spine-secret-5a4b3c2d1e0f',
  SPINE_TOKEN: 'fake-spine-token-0f1e2d3c4b5a',
};

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, string | number | boolean>;
}

/** A minimal OTLP/HTTP receiver: POST /v1/traces with JSON bodies. */
class OtlpReceiver {
  readonly bodies: string[] = [];
  server!: Server;
  url = '';
  async start() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/v1/traces') {
          this.bodies.push(body);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } else {
          res.writeHead(404).end();
        }
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  spans(): OtlpSpan[] {
    const out: OtlpSpan[] = [];
    for (const body of this.bodies) {
      const json = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: (Omit<OtlpSpan, 'attributes'> & { attributes?: { key: string; value: Record<string, unknown> }[] })[] }[] }[] };
      for (const rs of json.resourceSpans) {
        for (const ss of rs.scopeSpans) {
          for (const span of ss.spans) {
            const attributes: OtlpSpan['attributes'] = {};
            for (const { key, value } of span.attributes ?? []) {
              const v = value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue;
              attributes[key] = typeof v === 'string' && 'intValue' in value ? Number(v) : (v as string | number | boolean);
            }
            out.push({ ...span, attributes });
          }
        }
      }
    }
    return out;
  }
}

function spine(args: string[], env: Record<string, string>): Promise<SpineExit> {
  return spawnSpine(args, { env });
}

describe('telemetry and secrets with the real spine process', () => {
  const receiver = new OtlpReceiver();
  const effects = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: 'https://example.test/blog/x' })));
  });
  let effectUrl = '';
  beforeAll(async () => {
    await receiver.start();
    await new Promise<void>((resolve) => effects.listen(0, '127.0.0.1', resolve));
    effectUrl = `http://127.0.0.1:${(effects.address() as AddressInfo).port}/publish`;
  });
  afterAll(() => {
    receiver.server?.close();
    effects.close();
  });

  it('exports spans for the run, its steps and its model call with the GenAI attributes and the run id, and leaks no secret anywhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spine-otel-'));
    const db = join(dir, 'spine.db');
    const env = { ...FAKE, SPINE_TEST_EFFECT_URL: effectUrl, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'spine-test' };
    const common = ['--db', db, '--machines', machines];
    const outputs: string[] = [];

    const run = await spine(['run', 'release', '--input', '{"title":"Traced"}', ...common, '--json'], env);
    outputs.push(run.stdout, run.stderr);
    expect(run.code, run.stderr).toBe(3);
    const { runId } = JSON.parse(run.stdout) as { runId: string };
    const approved = await spine(['approve', runId, '--as', 'ada', ...common, '--json'], env);
    outputs.push(approved.stdout, approved.stderr);
    expect(approved.code, approved.stderr).toBe(0);
    for (const args of [['show', runId, '--db', db], ['audit', '--db', db, '--json'], ['approvals', '--all', '--db', db, '--json']]) {
      const r = await spine(args, env);
      outputs.push(r.stdout, r.stderr);
    }
    // Which machine version, prompt and model produced step 2 (the step that applied the draft).
    const step = await spine(['step', runId, '2', '--db', db, '--json'], env);
    outputs.push(step.stdout, step.stderr);
    expect(JSON.parse(step.stdout)).toMatchObject({ seq: 2, eventType: 'xstate.done.actor.draft', version: expect.any(String), applied: { src: 'draft', models: ['gpt-test-mini'], providers: ['openai'], promptVersions: [expect.stringMatching(/^[0-9a-f]{16}$/)] } });
    const stepText = await spine(['step', runId, '2', '--db', db], env);
    expect(stepText.stdout).toMatch(/applied\s+draft .*model gpt-test-mini via openai, prompt [0-9a-f]{16}/);

    const spans = receiver.spans();
    const ofRun = spans.filter((s) => s.attributes['spine.run_id'] === runId);
    const traceId = traceIdOfRun(runId);
    expect(ofRun.length).toBeGreaterThan(5);
    expect(new Set(ofRun.map((s) => s.traceId))).toEqual(new Set([traceId])); // one trace per run, across both processes

    const model = ofRun.find((s) => s.name === 'chat gpt-test-mini' && s.attributes['spine.outcome'] === 'ok');
    expect(model?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-test-mini',
      'gen_ai.agent.name': 'writer',
      'gen_ai.usage.input_tokens': 120,
      'gen_ai.usage.output_tokens': 48,
      'gen_ai.usage.cache_read.input_tokens': 64,
      'gen_ai.usage.cache_creation.input_tokens': 8,
      'spine.cost_usd': 0.00042,
      'spine.run_id': runId,
      'spine.actor_id': runId,
      'spine.step_seq': 1,
    });
    expect(ofRun.filter((s) => s.name === 'chat gpt-test-mini')).toHaveLength(2); // the failed first attempt and the retry
    expect(ofRun.find((s) => s.name === 'spine.activity publish')?.attributes).toMatchObject({ 'spine.outcome': 'ok', 'spine.activity': 'publish' });
    expect(ofRun.filter((s) => s.name === 'spine.step release').map((s) => s.attributes['spine.step_seq']).sort()).toEqual([1, 2, 3]); // init, draft done, publish done
    expect(ofRun.find((s) => s.name === 'spine.run release')?.attributes).toMatchObject({ 'spine.status': 'done', 'spine.machine': 'release' });

    // The fake keys were read by the activity, put in its journal, its error, its output and the
    // machine's context on purpose: none of them reached the database, the spans or the output.
    const haystacks: [string, Buffer][] = [
      ...readdirSync(dir).map((f): [string, Buffer] => [f, readFileSync(join(dir, f))]),
      ['spans', Buffer.from(receiver.bodies.join('\n'))],
      ['output', Buffer.from(outputs.join('\n'))],
    ];
    expect(readdirSync(dir)).not.toContain('spine.db.secret'); // SPINE_SECRET was set: no file
    for (const [name, bytes] of haystacks) {
      for (const [key, value] of Object.entries(FAKE)) expect(bytes.includes(Buffer.from(value)), `${key} in ${name}`).toBe(false);
    }
    expect(readFileSync(db).includes(Buffer.from('[redacted]')) || readdirSync(dir).some((f) => readFileSync(join(dir, f)).includes(Buffer.from('[redacted]')))).toBe(true);
  }, 60_000);
});
