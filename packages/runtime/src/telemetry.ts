import { createHash } from 'node:crypto';
import { context, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { Redactor } from './redact.js';

/**
 * Spans for runs, steps and activity calls through `@opentelemetry/api`: a no-op
 * until the process registers an SDK (the `spine` CLI does when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set).
 *
 * A run lives across processes and restarts, so no span can stay open for it.
 * Every span of a run is put in one trace whose id is derived from the run id,
 * under a synthetic parent span id derived from it too; `spine.run` is exported
 * when the run finishes, spanning its whole life.
 */
export class RunTelemetry {
  readonly #tracer: Tracer;
  readonly #redactor: Redactor;
  readonly #parents = new Map<string, Context>();

  constructor(options: { tracer?: Tracer; redactor: Redactor }) {
    this.#tracer = options.tracer ?? trace.getTracer('@spine/runtime', '0.1.0');
    this.#redactor = options.redactor;
  }

  /** A committed step. */
  step(info: { runId: string; actorId: string; machine: string; version: string; seq: number; eventType: string; state: string; status: string; startedAt: number; endedAt: number; error: string | null }): void {
    const span = this.#tracer.startSpan(`spine.step ${info.machine}`, { kind: SpanKind.INTERNAL, startTime: info.startedAt }, this.#parent(info.runId));
    if (!span.isRecording()) return; // no SDK registered: no work per step
    span.setAttributes(this.#attributes({ ...base(info.runId, info.actorId, info.seq), 'spine.machine': info.machine, 'spine.machine_version': info.version, 'spine.event_type': info.eventType, 'spine.state': info.state, 'spine.status': info.status }));
    if (info.error) span.setStatus({ code: SpanStatusCode.ERROR, message: this.#redactor.text(info.error) });
    span.end(Math.max(info.endedAt, info.startedAt));
  }

  /** A run that finished: one span from its creation to now. */
  run(info: { runId: string; machine: string; version: string; status: string; createdAt: number; endedAt: number; error: string | null }): void {
    const span = this.#tracer.startSpan(
      `spine.run ${info.machine}`,
      { kind: SpanKind.INTERNAL, startTime: info.createdAt, attributes: this.#attributes({ 'spine.run_id': info.runId, 'spine.machine': info.machine, 'spine.machine_version': info.version, 'spine.status': info.status }) },
      this.#parent(info.runId),
    );
    if (info.error) span.setStatus({ code: SpanStatusCode.ERROR, message: this.#redactor.text(info.error) });
    span.end(Math.max(info.endedAt, info.createdAt));
  }

  /**
   * Starts the span of one activity attempt; `end` names it after what the
   * activity recorded: `chat <model>` with the GenAI attributes for a model call,
   * `execute_tool <tool>` for a tool call, `spine.activity <src>` otherwise.
   */
  activity(info: { runId: string; actorId: string; jobKey: string; src: string; attempt: number; startedAt: number }): ActivitySpan {
    const seq = stepOfKey(info.jobKey);
    const span = this.#tracer.startSpan(
      `spine.activity ${info.src}`,
      { kind: SpanKind.INTERNAL, startTime: info.startedAt, attributes: this.#attributes({ ...base(info.runId, info.actorId, seq), 'spine.activity': info.src, 'spine.job_key': info.jobKey, 'spine.attempt': info.attempt }) },
      this.#parent(info.runId),
    );
    return {
      end: (facts, outcome, endedAt) => {
        const model = modelFacts(facts);
        if (model) {
          span.updateName(`${model['gen_ai.operation.name']} ${String(model['gen_ai.request.model'] ?? info.src)}`);
          span.setAttributes(this.#attributes(model));
        } else if (typeof facts.tool === 'string') {
          span.updateName(`execute_tool ${facts.tool}`);
          span.setAttributes(this.#attributes({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': facts.tool }));
        }
        const ctx = trace.setSpan(context.active(), span);
        for (const call of nestedModelCalls(facts)) this.#child(ctx, call, info, seq, endedAt);
        for (const tool of nestedToolCalls(facts)) {
          const child = this.#tracer.startSpan(`execute_tool ${tool.tool}`, { kind: SpanKind.INTERNAL, startTime: endedAt, attributes: this.#attributes({ ...base(info.runId, info.actorId, seq), 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool.tool, 'spine.tool_outcome': tool.outcome }) }, ctx);
          if (tool.outcome !== 'ok') child.setStatus({ code: SpanStatusCode.ERROR, message: tool.outcome });
          child.end(endedAt);
        }
        span.setAttribute('spine.outcome', outcome);
        if (outcome === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: this.#redactor.text(errorMessage(facts.error)) });
        span.end(Math.max(endedAt, info.startedAt));
      },
    };
  }

  #child(parent: Context, call: Record<string, unknown>, info: { runId: string; actorId: string }, seq: number | undefined, endedAt: number): void {
    const model = modelFacts(call)!;
    const latency = typeof call.latencyMs === 'number' ? call.latencyMs : 0;
    const span: Span = this.#tracer.startSpan(
      `${model['gen_ai.operation.name']} ${String(model['gen_ai.request.model'])}`,
      { kind: SpanKind.CLIENT, startTime: endedAt - latency, attributes: this.#attributes({ ...base(info.runId, info.actorId, seq), ...model }) },
      parent,
    );
    span.end(endedAt);
  }

  #attributes(values: Record<string, unknown>): Attributes {
    const out: Attributes = {};
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined || value === null) continue;
      if (typeof value === 'string') out[key] = this.#redactor.text(value);
      else if (typeof value === 'number' || typeof value === 'boolean') out[key] = value;
      else out[key] = this.#redactor.text(JSON.stringify(value));
    }
    return out;
  }

  #parent(runId: string): Context {
    let parent = this.#parents.get(runId);
    if (!parent) {
      if (this.#parents.size > 10_000) this.#parents.clear();
      const hash = createHash('sha256').update(`spine-run:${runId}`).digest('hex');
      parent = trace.setSpanContext(context.active(), { traceId: hash.slice(0, 32), spanId: hash.slice(32, 48), traceFlags: TraceFlags.SAMPLED, isRemote: true });
      this.#parents.set(runId, parent);
    }
    return parent;
  }
}

/** An activity attempt's span, ended with the facts the activity recorded. */
export interface ActivitySpan {
  end(facts: Record<string, unknown>, outcome: 'ok' | 'failed' | 'retry' | 'aborted', endedAt: number): void;
}

/** The trace id every span of a run carries (hex, 32 digits). */
export function traceIdOfRun(runId: string): string {
  return createHash('sha256').update(`spine-run:${runId}`).digest('hex').slice(0, 32);
}

function base(runId: string, actorId: string, seq: number | undefined): Record<string, unknown> {
  return { 'spine.run_id': runId, 'spine.actor_id': actorId, 'spine.step_seq': seq };
}

/** The step seq in a job key `actorId:seq:index`. */
function stepOfKey(key: string): number | undefined {
  const parts = key.split(':');
  const seq = Number(parts.at(-2));
  return Number.isInteger(seq) ? seq : undefined;
}

/**
 * GenAI semantic-convention attributes from the facts a model-call activity
 * recorded (`provider`, `model`, `usage`, `costUsd`, `agent`, `operation`), or
 * undefined when the facts name no model.
 */
export function modelFacts(facts: Record<string, unknown>): Record<string, unknown> | undefined {
  if (typeof facts.model !== 'string') return undefined;
  const usage = (facts.usage && typeof facts.usage === 'object' ? facts.usage : {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  return {
    'gen_ai.operation.name': typeof facts.operation === 'string' ? facts.operation : 'chat',
    'gen_ai.provider.name': typeof facts.provider === 'string' ? facts.provider : undefined,
    'gen_ai.request.model': facts.model,
    'gen_ai.response.model': typeof facts.responseModel === 'string' ? facts.responseModel : undefined,
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

function nestedToolCalls(facts: Record<string, unknown>): { tool: string; outcome: string }[] {
  const list = Array.isArray(facts.toolCalls) ? facts.toolCalls : [];
  return list
    .filter((c): c is { tool: string; outcome?: unknown } => Boolean(c) && typeof c === 'object' && typeof (c as { tool?: unknown }).tool === 'string')
    .map((c) => ({ tool: c.tool, outcome: typeof c.outcome === 'string' ? c.outcome : 'ok' }));
}

function errorMessage(error: unknown): string {
  if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') return (error as { message: string }).message;
  return 'failed';
}
