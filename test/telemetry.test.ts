import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spanIdOfRun, spanIdOfStep, traceIdOfRun } from '@spine/runtime';
import protobuf from 'protobufjs';
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

/** One exported span, the same whether it arrived as OTLP JSON or OTLP protobuf. */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** 1 INTERNAL, 2 SERVER, 3 CLIENT (the OTLP enum). */
  kind: number;
  /** 2 is ERROR. */
  statusCode: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  /** The content type it arrived with. */
  encoding: string;
}

// The OTLP protobuf definitions (opentelemetry-proto, Apache-2.0), decoded with protobufjs.
const protoRoot = new protobuf.Root();
protoRoot.resolvePath = (_origin, target) => join(root, 'test/fixtures/otlp-proto', target);
protoRoot.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', { keepCase: false });
const ExportTraceServiceRequest = protoRoot.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: { values?: AnyValue[] } };
type KeyValue = { key: string; value: AnyValue };
type ExportRequest = { resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[] };

function valueOf(value: AnyValue): unknown {
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(valueOf);
  if (value.intValue !== undefined) return Number(value.intValue);
  return value.stringValue ?? value.doubleValue ?? value.boolValue;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, valueOf(value)]));
}

/** An OTLP/HTTP receiver (POST /v1/traces) that decodes both encodings the SDK speaks. */
class OtlpReceiver {
  readonly bodies: Buffer[] = [];
  readonly received: OtlpSpan[] = [];
  server!: Server;
  url = '';
  async start() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/v1/traces') return void res.writeHead(404).end();
        const body = Buffer.concat(chunks);
        const encoding = String(req.headers['content-type']);
        this.bodies.push(body);
        try {
          this.received.push(...this.#decode(body, encoding));
        } catch (error) {
          return void res.writeHead(400).end(String(error));
        }
        if (encoding.startsWith('application/x-protobuf')) res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  #decode(body: Buffer, encoding: string): OtlpSpan[] {
    let request: ExportRequest;
    let hex: (id: unknown) => string;
    if (encoding.startsWith('application/x-protobuf')) {
      request = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), { longs: String, enums: Number, bytes: String }) as ExportRequest;
      hex = (id) => Buffer.from(String(id ?? ''), 'base64').toString('hex');
    } else if (encoding.startsWith('application/json')) {
      request = JSON.parse(body.toString('utf8')) as ExportRequest;
      hex = (id) => String(id ?? '');
    } else {
      throw new Error(`unexpected content type ${encoding}`);
    }
    const out: OtlpSpan[] = [];
    for (const rs of request.resourceSpans ?? []) {
      const resource = attributesOf(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          out.push({
            traceId: hex(span.traceId),
            spanId: hex(span.spanId),
            parentSpanId: hex(span.parentSpanId),
            name: String(span.name),
            kind: Number(span.kind ?? 0),
            statusCode: Number((span.status as { code?: number } | undefined)?.code ?? 0),
            attributes: attributesOf(span.attributes as KeyValue[] | undefined),
            resource,
            encoding,
          });
        }
      }
    }
    return out;
  }

  spans(): OtlpSpan[] {
    return this.received;
  }
}

const KIND = { INTERNAL: 1, CLIENT: 3 } as const;

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
    // Commands that only read make no spans: they run without the SDK, side by side.
    const reads = await Promise.all(
      [['show', runId, '--db', db], ['audit', '--db', db, '--json'], ['approvals', '--all', '--db', db, '--json'], ['step', runId, '2', '--db', db, '--json'], ['step', runId, '2', '--db', db]].map((args) => spine(args, FAKE)),
    );
    for (const r of reads) outputs.push(r.stdout, r.stderr);
    // Which machine version, prompt and model produced step 2 (the step that applied the draft).
    const [step, stepText] = reads.slice(3) as [SpineExit, SpineExit];
    expect(JSON.parse(step.stdout)).toMatchObject({ seq: 2, eventType: 'xstate.done.actor.draft', version: expect.any(String), applied: { src: 'draft', models: ['gpt-test-mini'], providers: ['openai'], promptVersions: [expect.stringMatching(/^[0-9a-f]{16}$/)] } });
    expect(stepText.stdout).toMatch(/applied\s+draft .*model gpt-test-mini via openai, prompt [0-9a-f]{16}/);

    const spans = receiver.spans();
    const ofRun = spans.filter((s) => s.attributes['spine.run_id'] === runId);
    const traceId = traceIdOfRun(runId);
    expect(ofRun.length).toBeGreaterThan(5);
    expect(new Set(ofRun.map((s) => s.traceId))).toEqual(new Set([traceId])); // one trace per run, across both processes

    const model = ofRun.find((s) => s.name === 'chat gpt-test-mini' && s.statusCode !== 2);
    expect(model?.kind).toBe(KIND.CLIENT);
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
    // The tree, across both processes (run, then approve): run -> step -> activity -> model call.
    const byId = new Map(ofRun.map((s) => [s.spanId, s]));
    const runSpan = ofRun.find((s) => s.name === 'spine.run release')!;
    expect(runSpan).toMatchObject({ spanId: spanIdOfRun(runId), parentSpanId: '' });
    expect(ofRun.filter((s) => !s.parentSpanId)).toEqual([runSpan]);
    for (const span of ofRun) if (span !== runSpan) expect(byId.has(span.parentSpanId), `parent of ${span.name} exported`).toBe(true);
    const drafting = byId.get(model!.parentSpanId)!;
    expect(drafting).toMatchObject({ name: 'spine.activity draft', kind: KIND.INTERNAL, parentSpanId: spanIdOfStep(runId, 1), attributes: { 'spine.outcome': 'ok' } });
    expect(byId.get(drafting.parentSpanId)).toMatchObject({ name: 'spine.step release', parentSpanId: runSpan.spanId, attributes: { 'spine.step_seq': 1 } });
    expect(ofRun.find((s) => s.name === 'spine.activity publish')?.attributes).toMatchObject({ 'spine.outcome': 'ok', 'spine.activity': 'publish' });
    expect(ofRun.filter((s) => s.name === 'spine.step release').map((s) => s.attributes['spine.step_seq']).sort()).toEqual([1, 2, 3]); // init, draft done, publish done
    expect(ofRun.find((s) => s.name === 'spine.run release')?.attributes).toMatchObject({ 'spine.status': 'done', 'spine.machine': 'release' });

    // The fake keys were read by the activity, put in its journal, its error, its output and the
    // machine's context on purpose: none of them reached the database, the spans or the output.
    const haystacks: [string, Buffer][] = [
      ...readdirSync(dir).map((f): [string, Buffer] => [f, readFileSync(join(dir, f))]),
      ['spans', Buffer.concat(receiver.bodies)],
      ['output', Buffer.from(outputs.join('\n'))],
    ];
    expect(readdirSync(dir)).not.toContain('spine.db.secret'); // SPINE_SECRET was set: no file
    for (const [name, bytes] of haystacks) {
      for (const [key, value] of Object.entries(FAKE)) expect(bytes.includes(Buffer.from(value)), `${key} in ${name}`).toBe(false);
    }
    expect(readFileSync(db).includes(Buffer.from('[redacted]')) || readdirSync(dir).some((f) => readFileSync(join(dir, f)).includes(Buffer.from('[redacted]')))).toBe(true);
  }, 120_000);
});

describe('traces with the SDK configured by the standard OTEL_* variables', () => {
  const receiver = new OtlpReceiver();
  let effectCalls = 0;
  const effects = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      effectCalls += 1;
      const { step } = JSON.parse(body) as { step: number };
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: step })), 15);
    });
  });
  let effectUrl = '';
  beforeAll(async () => {
    await receiver.start();
    await new Promise<void>((resolve) => effects.listen(0, '127.0.0.1', resolve));
    effectUrl = `http://127.0.0.1:${(effects.address() as AddressInfo).port}/effect`;
  });
  afterAll(() => {
    receiver.server?.close();
    effects.close();
  });

  it('exports the demo pipeline over OTLP protobuf with its resource attributes, CLIENT model spans and tool spans under their activities', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spine-otel-demo-'));
    const env = {
      OPENAI_API_KEY: undefined,
      OPENAI_BASE_URL: undefined,
      ANTHROPIC_API_KEY: undefined,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_SERVICE_NAME: 'spine-demo',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=ci,spine.test=otel',
    };
    const demo = await spawnSpine(['demo', '--approve', 'auto', '--db', join(dir, 'spine.db'), '--json'], { env });
    expect(demo.code, demo.stderr).toBe(0);
    const runId = (JSON.parse(demo.stdout.trim().split('\n').at(-1)!) as { outcome: { runId: string } }).outcome.runId;
    const spans = receiver.spans().filter((s) => s.traceId === traceIdOfRun(runId));
    expect(spans.length).toBeGreaterThan(20);
    expect(new Set(spans.map((s) => s.encoding))).toEqual(new Set(['application/x-protobuf']));
    expect(spans[0]!.resource).toMatchObject({ 'service.name': 'spine-demo', 'deployment.environment.name': 'ci', 'spine.test': 'otel' });

    // One root, the exported run span; every other span's parent was exported too.
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const roots = spans.filter((s) => !s.parentSpanId);
    expect(roots.map((s) => [s.name, s.spanId])).toEqual([['spine.run supervisor', spanIdOfRun(runId)]]);
    for (const span of spans) if (span.parentSpanId) expect(byId.has(span.parentSpanId), `parent of ${span.name} exported`).toBe(true);
    const depth = (span: OtlpSpan): string[] => (span.parentSpanId ? [...depth(byId.get(span.parentSpanId)!), span.name.split(' ')[0]!] : [span.name.split(' ')[0]!]);

    const models = spans.filter((s) => s.name.startsWith('chat '));
    expect(models.length).toBeGreaterThanOrEqual(3); // researcher, writer, verifier at least
    for (const model of models) {
      expect(depth(model)).toEqual(['spine.run', 'spine.step', 'spine.activity', 'chat']);
      expect(model.kind).toBe(KIND.CLIENT);
      expect(model.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'scripted',
        'gen_ai.response.model': expect.any(String),
        'gen_ai.response.id': expect.any(String),
        'gen_ai.response.finish_reasons': [expect.stringMatching(/^(stop|tool_calls|length)$/)],
        'gen_ai.request.max_tokens': expect.any(Number),
        'gen_ai.usage.input_tokens': expect.any(Number),
        'gen_ai.usage.output_tokens': expect.any(Number),
        'gen_ai.agent.name': expect.stringMatching(/^(researcher|writer|verifier)$/),
        'server.address': '127.0.0.1',
        'server.port': expect.any(Number),
      });
      expect(String(model.attributes['gen_ai.provider.name'])).not.toContain('@');
    }
    const tools = spans.filter((s) => s.name.startsWith('execute_tool '));
    expect(tools.map((s) => s.name)).toContain('execute_tool search');
    for (const tool of tools) {
      expect(depth(tool)).toEqual(['spine.run', 'spine.step', 'spine.activity', 'execute_tool']);
      expect(tool).toMatchObject({ kind: KIND.INTERNAL, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool.name.slice('execute_tool '.length) } });
    }
  }, 120_000);

  it('continues the same trace when a run killed with SIGKILL is resumed: its spans nest under the same run and step ids', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spine-otel-crash-'));
    const db = join(dir, 'spine.db');
    const machines = join(root, 'test/fixtures/crash-machines');
    const otel = { SPINE_TEST_EFFECT_URL: effectUrl, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '20' };
    effectCalls = 0;
    const killed = await spawnSpine(['run', 'steps20', '--db', db, '--machines', machines, '--json'], { env: { ...otel, OTEL_RESOURCE_ATTRIBUTES: 'spine.test.phase=first' }, killWhen: () => effectCalls >= 6 });
    expect(killed.signal).toBe('SIGKILL');
    const resumed = await spawnSpine(['resume', '--db', db, '--machines', machines, '--json'], { env: { ...otel, OTEL_RESOURCE_ATTRIBUTES: 'spine.test.phase=resume' } });
    expect(resumed.code, resumed.stderr).toBe(0);
    const [outcome] = JSON.parse(resumed.stdout) as { runId: string; status: string }[];
    expect(outcome?.status).toBe('done');
    const runId = outcome!.runId;

    const spans = receiver.spans().filter((s) => s.attributes['spine.run_id'] === runId);
    const first = spans.filter((s) => s.resource['spine.test.phase'] === 'first');
    const second = spans.filter((s) => s.resource['spine.test.phase'] === 'resume');
    expect(first.length).toBeGreaterThan(0); // the killed process exported what it finished
    expect(second.length).toBeGreaterThan(0);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceIdOfRun(runId)]));
    // The run span is exported once, by the process that finished the run, as the trace's root.
    expect(spans.filter((s) => s.name === 'spine.run steps20').map((s) => [s.spanId, s.parentSpanId, s.resource['spine.test.phase']])).toEqual([[spanIdOfRun(runId), '', 'resume']]);
    for (const span of spans) {
      if (span.name === 'spine.step steps20') expect(span.parentSpanId).toBe(spanIdOfRun(runId));
      if (span.name === 'spine.step steps20') expect(span.spanId).toBe(spanIdOfStep(runId, Number(span.attributes['spine.step_seq'])));
      if (span.name === 'spine.activity effect') {
        // Under the step that requested it, whichever process committed that step.
        const seq = Number(String(span.attributes['spine.job_key']).split(':').at(-2));
        expect(span.parentSpanId).toBe(spanIdOfStep(runId, seq));
      }
    }
    expect(second.filter((s) => s.name === 'spine.activity effect').length).toBeGreaterThan(0);
  }, 120_000);
});
