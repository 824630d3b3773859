import { createHash, randomBytes } from 'node:crypto';
import { ProxyTracerProvider, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { Redactor } from './redact.js';
import { stepOfJobKey } from './step/jobKey.js';

/**
 * Span ids for spans that must be known before they are exported: the SDK calls the id
 * generator synchronously inside `startSpan`, so a pending id set just before is the one it
 * takes. Register it with your trace SDK (`new NodeSDK({ idGenerator: spineIdGenerator })`; the
 * `spine` CLI does) so that a run's tree is rooted in its exported `spine.run` span; with another
 * generator the spans still share the run's trace, under a parent id no exported span carries.
 */
export const spineIdGenerator = {
  generateTraceId(): string {
    const id = pending.traceId;
    pending.traceId = undefined;
    return id ?? randomBytes(16).toString('hex');
  },
  generateSpanId(): string {
    const id = pending.spanId;
    pending.spanId = undefined;
    return (typeof id === 'function' ? id() : id) ?? randomBytes(8).toString('hex');
  },
};
/** A span id may be given as a function: computed only if an SDK asks for it (a no-op tracer never does). */
const pending: { traceId: string | undefined; spanId: string | (() => string) | undefined } = { traceId: undefined, spanId: undefined };

function withIds<T>(ids: { traceId?: string; spanId: string | (() => string) }, start: () => T): T {
  pending.traceId = ids.traceId;
  pending.spanId = ids.spanId;
  try {
    return start();
  } finally {
    pending.traceId = undefined;
    pending.spanId = undefined;
  }
}

/**
 * Spans for runs, steps and activity calls through `@opentelemetry/api`: a no-op
 * until the process registers an SDK (the `spine` CLI does when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set).
 *
 * A run lives across processes and restarts, so no span can stay open for it. Its
 * ids are derived instead: the trace id and the `spine.run` span id from the run id,
 * each step's span id from `actorId:seq`. So every process that works on a run
 * (the first, one resumed after a crash) nests its spans in the same tree:
 * `spine.run` (exported when the run finishes, spanning its whole life) ->
 * `spine.step` (one per committed step of any of its agents) -> `spine.activity`
 * (one per attempt, under the step that requested it) -> `chat <model>` (CLIENT) and
 * `execute_tool <tool>` with the GenAI semantic-convention attributes.
 */
export class RunTelemetry {
  readonly #tracer: Tracer;
  readonly #given: boolean;
  readonly #redactor: Redactor;

  constructor(options: { tracer?: Tracer; redactor: Redactor }) {
    this.#tracer = options.tracer ?? trace.getTracer('@spine/runtime', '0.1.0');
    this.#given = options.tracer !== undefined;
    this.#redactor = options.redactor;
  }

  /**
   * Whether a span can record: a tracer was given, or an SDK is registered now. Without one
   * every span is a no-op, and an activity's would still cost its parent's hash and its attributes.
   */
  get live(): boolean {
    if (this.#given) return true;
    const provider = trace.getTracerProvider();
    return !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer('@spine/runtime', '0.1.0') !== undefined;
  }

  /** A committed step, a child of its run's span. */
  step(info: { runId: string; actorId: string; machine: string; version: string; seq: number; eventType: string; state: string; status: string; startedAt: number; endedAt: number; error: string | null }): void {
    if (!this.live) return;
    const span = withIds({ spanId: () => spanIdOfStep(info.actorId, info.seq) }, () =>
      this.#tracer.startSpan(`spine.step ${info.machine}`, { kind: SpanKind.INTERNAL, startTime: info.startedAt }, runContext(info.runId)),
    );
    if (!span.isRecording()) return; // no SDK registered: no work per step
    span.setAttributes(this.#attributes({ ...base(info.runId, info.actorId, info.seq), 'spine.machine': info.machine, 'spine.machine_version': info.version, 'spine.event_type': info.eventType, 'spine.state': info.state, 'spine.status': info.status }));
    if (info.error) span.setStatus({ code: SpanStatusCode.ERROR, message: this.#redactor.text(info.error) });
    span.end(Math.max(info.endedAt, info.startedAt));
  }

  /** A run that finished: the root span of its trace, from its creation to now. */
  run(info: { runId: string; machine: string; version: string; status: string; createdAt: number; endedAt: number; error: string | null }): void {
    if (!this.live) return;
    const span = withIds({ traceId: traceIdOfRun(info.runId), spanId: spanIdOfRun(info.runId) }, () =>
      this.#tracer.startSpan(
        `spine.run ${info.machine}`,
        { kind: SpanKind.INTERNAL, root: true, startTime: info.createdAt, attributes: this.#attributes({ 'spine.run_id': info.runId, 'spine.machine': info.machine, 'spine.machine_version': info.version, 'spine.status': info.status }) },
        ROOT_CONTEXT,
      ),
    );
    if (info.error) span.setStatus({ code: SpanStatusCode.ERROR, message: this.#redactor.text(info.error) });
    span.end(Math.max(info.endedAt, info.createdAt));
  }

  /**
   * Starts the span of one activity attempt, a child of the step that requested it;
   * `end` adds a `chat <model>` CLIENT span for each model call the activity recorded
   * and an `execute_tool <tool>` span for each tool call.
   */
  activity(info: { runId: string; actorId: string; jobKey: string; src: string; attempt: number; startedAt: number }): ActivitySpan {
    if (!this.live) return NO_SPAN;
    const seq = stepOfJobKey(info.jobKey);
    const parent = seq === undefined ? runContext(info.runId) : stepContext(info.runId, info.actorId, seq);
    const span = this.#tracer.startSpan(
      `spine.activity ${info.src}`,
      { kind: SpanKind.INTERNAL, startTime: info.startedAt, attributes: this.#attributes({ ...base(info.runId, info.actorId, seq), 'spine.activity': info.src, 'spine.job_key': info.jobKey, 'spine.attempt': info.attempt }) },
      parent,
    );
    return {
      end: (facts, outcome, endedAt) => {
        const end = Math.max(endedAt, info.startedAt);
        const ctx = trace.setSpan(ROOT_CONTEXT, span);
        if (typeof facts.agent === 'string') span.setAttribute('gen_ai.agent.name', this.#redactor.text(facts.agent));
        const calls = modelFacts(facts) ? [facts] : nestedModelCalls(facts);
        for (const call of calls) this.#modelCall(ctx, call, call === facts && outcome !== 'ok', info, seq, info.startedAt, end);
        if (typeof facts.tool === 'string') this.#toolCall(ctx, { tool: facts.tool, outcome: outcome === 'ok' ? 'ok' : outcome }, info, seq, info.startedAt, end);
        for (const tool of nestedToolCalls(facts)) this.#toolCall(ctx, tool, info, seq, end, end);
        span.setAttribute('spine.outcome', outcome);
        if (outcome === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: this.#redactor.text(errorMessage(facts.error)) });
        span.end(end);
      },
    };
  }

  #modelCall(parent: Context, call: Record<string, unknown>, attemptFailed: boolean, info: { runId: string; actorId: string }, seq: number | undefined, startedAt: number, endedAt: number): void {
    const model = modelFacts(call)!;
    const latency = typeof call.latencyMs === 'number' && call.latencyMs > 0 ? call.latencyMs : endedAt - startedAt;
    const span: Span = this.#tracer.startSpan(
      `${model['gen_ai.operation.name']} ${String(model['gen_ai.request.model'])}`,
      { kind: SpanKind.CLIENT, startTime: Math.max(startedAt, endedAt - latency), attributes: this.#attributes({ ...base(info.runId, info.actorId, seq), ...model }) },
      parent,
    );
    const failure = (call.failure && typeof call.failure === 'object' ? call.failure : undefined) as { kind?: unknown; status?: unknown; message?: unknown } | undefined;
    const error = (call.error && typeof call.error === 'object' ? call.error : undefined) as { name?: unknown; code?: unknown; message?: unknown } | undefined;
    if ((failure && call.decision !== 'ok') || (attemptFailed && call.decision === undefined)) {
      const type = typeof failure?.status === 'number' ? String(failure.status) : [failure?.kind, error?.code, error?.name].find((v) => typeof v === 'string');
      span.setAttribute('error.type', typeof type === 'string' ? type : '_OTHER');
      span.setStatus({ code: SpanStatusCode.ERROR, message: this.#redactor.text(typeof failure?.message === 'string' ? failure.message : errorMessage(error)) });
    }
    span.end(endedAt);
  }

  #toolCall(parent: Context, tool: { tool: string; outcome: string; callId?: string }, info: { runId: string; actorId: string }, seq: number | undefined, startedAt: number, endedAt: number): void {
    const span = this.#tracer.startSpan(
      `execute_tool ${tool.tool}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: startedAt,
        attributes: this.#attributes({ ...base(info.runId, info.actorId, seq), 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool.tool, 'gen_ai.tool.type': 'function', 'gen_ai.tool.call.id': tool.callId, 'spine.tool_outcome': tool.outcome }),
      },
      parent,
    );
    if (tool.outcome !== 'ok') {
      span.setAttribute('error.type', tool.outcome);
      span.setStatus({ code: SpanStatusCode.ERROR, message: tool.outcome });
    }
    span.end(endedAt);
  }

  #attributes(values: Record<string, unknown>): Attributes {
    const out: Attributes = {};
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined || value === null) continue;
      if (typeof value === 'string') out[key] = this.#redactor.text(value);
      else if (typeof value === 'number' || typeof value === 'boolean') out[key] = value;
      else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) out[key] = value.map((v: string) => this.#redactor.text(v));
      else out[key] = this.#redactor.text(JSON.stringify(value));
    }
    return out;
  }
}

/** An activity attempt's span, ended with the facts the activity recorded. */
export interface ActivitySpan {
  end(facts: Record<string, unknown>, outcome: 'ok' | 'failed' | 'retry' | 'aborted', endedAt: number): void;
}

const NO_SPAN: ActivitySpan = { end() {} };

/** The trace id every span of a run carries (hex, 32 digits), in every process that works on it. */
export function traceIdOfRun(runId: string): string {
  return createHash('sha256').update(`spine-run:${runId}`).digest('hex').slice(0, 32);
}

/** The span id of a run's root `spine.run` span (hex, 16 digits). */
export function spanIdOfRun(runId: string): string {
  return createHash('sha256').update(`spine-run:${runId}`).digest('hex').slice(32, 48);
}

/** The span id of the `spine.step` span of an actor's step `seq` (hex, 16 digits). */
export function spanIdOfStep(actorId: string, seq: number): string {
  return createHash('sha256').update(`spine-step:${actorId}:${seq}`).digest('hex').slice(0, 16);
}

function remote(traceId: string, spanId: string): Context {
  return trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
}

/** Recent runs' contexts: every step of a run has the same parent, whose ids cost two hashes. */
const runContexts = new Map<string, Context>();

function runContext(runId: string): Context {
  let context = runContexts.get(runId);
  if (!context) {
    if (runContexts.size >= 1024) runContexts.clear();
    context = remote(traceIdOfRun(runId), spanIdOfRun(runId));
    runContexts.set(runId, context);
  }
  return context;
}

function stepContext(runId: string, actorId: string, seq: number): Context {
  return remote(trace.getSpanContext(runContext(runId))!.traceId, spanIdOfStep(actorId, seq));
}

function base(runId: string, actorId: string, seq: number | undefined): Record<string, unknown> {
  return { 'spine.run_id': runId, 'spine.actor_id': actorId, 'spine.step_seq': seq };
}


/**
 * GenAI semantic-convention attributes of an inference span from the facts a
 * model-call activity recorded (`model`, `providerName` or `provider`,
 * `serverAddress`, `serverPort`, `responseId`, `responseModel`, `finishReasons`,
 * `maxTokens`, `usage`, `costUsd`, `agent`, `operation`), or undefined when the
 * facts name no model.
 */
export function modelFacts(facts: Record<string, unknown>): Record<string, unknown> | undefined {
  if (typeof facts.model !== 'string') return undefined;
  const usage = (facts.usage && typeof facts.usage === 'object' ? facts.usage : {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  return {
    'gen_ai.operation.name': typeof facts.operation === 'string' ? facts.operation : 'chat',
    'gen_ai.provider.name': typeof facts.providerName === 'string' ? facts.providerName : typeof facts.provider === 'string' ? facts.provider : undefined,
    'gen_ai.request.model': facts.model,
    'gen_ai.request.max_tokens': num(facts.maxTokens),
    'gen_ai.response.id': typeof facts.responseId === 'string' ? facts.responseId : undefined,
    'gen_ai.response.model': typeof facts.responseModel === 'string' ? facts.responseModel : undefined,
    'gen_ai.response.finish_reasons': Array.isArray(facts.finishReasons) ? facts.finishReasons.filter((r) => typeof r === 'string') : undefined,
    'server.address': typeof facts.serverAddress === 'string' ? facts.serverAddress : undefined,
    'server.port': num(facts.serverPort),
    'gen_ai.agent.name': typeof facts.agent === 'string' ? facts.agent : undefined,
    'gen_ai.usage.input_tokens': num(usage.inputTokens),
    'gen_ai.usage.output_tokens': num(usage.outputTokens),
    'gen_ai.usage.cache_read.input_tokens': num(usage.cacheReadTokens),
    'gen_ai.usage.cache_creation.input_tokens': num(usage.cacheWriteTokens),
    'spine.cost_usd': num(facts.costUsd),
    'spine.prompt_version': typeof facts.promptVersion === 'string' ? facts.promptVersion : typeof facts.promptHash === 'string' ? facts.promptHash : undefined,
  };
}

function nestedModelCalls(facts: Record<string, unknown>): Record<string, unknown>[] {
  const list = Array.isArray(facts.modelCalls) ? facts.modelCalls : Array.isArray(facts.calls) ? facts.calls : [];
  return list.filter((c): c is Record<string, unknown> => Boolean(c) && typeof c === 'object' && typeof (c as { model?: unknown }).model === 'string');
}

function nestedToolCalls(facts: Record<string, unknown>): { tool: string; outcome: string; callId?: string }[] {
  const list = Array.isArray(facts.toolCalls) ? facts.toolCalls : [];
  return list
    .filter((c): c is { tool: string; outcome?: unknown; callId?: unknown } => Boolean(c) && typeof c === 'object' && typeof (c as { tool?: unknown }).tool === 'string')
    .map((c) => ({ tool: c.tool, outcome: typeof c.outcome === 'string' ? c.outcome : 'ok', ...(typeof c.callId === 'string' ? { callId: c.callId } : {}) }));
}

function errorMessage(error: unknown): string {
  if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') return (error as { message: string }).message;
  return 'failed';
}
