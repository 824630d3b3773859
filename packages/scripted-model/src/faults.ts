import { mulberry32 } from './mulberry32.js';
import { openAIError } from './openAIError.js';
import { ScriptedModelError } from './ScriptedModelError.js';

/** Every fault the server can inject, in the order the README describes them. */
export const faultKinds = [
  'rate_limit',
  'server_error',
  'unavailable',
  'stall',
  'malformed',
  'context_length',
  'bad_request',
  'unauthorized',
  'disconnect',
] as const;

/** A kind of failure a real provider produces, which the server imitates on demand. */
export type FaultKind = (typeof faultKinds)[number];

/** A fault to answer one request with, instead of a reply. */
export interface Fault {
  kind: FaultKind;
  /** For `rate_limit`: the `retry-after` the answer carries, in seconds (default 1; fractions also set `retry-after-ms`). */
  retryAfterSeconds?: number;
  /** Replaces the provider-like error message (not used by `stall`, `malformed` and `disconnect`, which have no message). */
  message?: string;
  /**
   * For `disconnect`: the text a streamed answer gets out (a word per chunk, `chunkDelayMs` apart)
   * before the connection drops (default none: it drops right after the role chunk).
   */
  partial?: string;
}

/** Seeded random faults: each chat request fails with probability `rate`, reproducibly for a given `seed`. */
export interface FaultPlan {
  /** Probability in [0, 1] that a request is answered with a fault. */
  rate: number;
  /** Seed of the PRNG; the same seed and the same requests give the same faults. */
  seed: number;
  /** Kinds to draw from, uniformly (default {@link defaultFaultPlanKinds}). */
  kinds?: readonly FaultKind[];
  /** `retry-after` of drawn `rate_limit` faults, in seconds (default 1). */
  retryAfterSeconds?: number;
}

/** The kinds a {@link FaultPlan} draws from by default: the transient failures a client should survive. */
export const defaultFaultPlanKinds: readonly FaultKind[] = ['rate_limit', 'server_error', 'unavailable', 'malformed'];

const defaultRetryAfterSeconds = 1;

/** True when `value` is a {@link Fault} rather than a scripted reply. */
export function isFault(value: unknown): value is Fault {
  return typeof value === 'object' && value !== null && 'kind' in value;
}

/** Throws a {@link ScriptedModelError} unless `fault` is a well-formed fault; `where` names it in the message. */
export function assertFault(fault: unknown, where: string): asserts fault is Fault {
  if (!isFault(fault) || !(faultKinds as readonly unknown[]).includes(fault.kind)) {
    throw new ScriptedModelError(
      'invalid_script',
      `${where} is not a fault: give { kind } with kind one of ${faultKinds.join(', ')}.`,
    );
  }
  if (fault.partial !== undefined && typeof fault.partial !== 'string') {
    throw new ScriptedModelError('invalid_script', `${where}.partial must be a string, got ${typeof fault.partial}.`);
  }
  const seconds = fault.retryAfterSeconds;
  if (seconds !== undefined && !(Number.isFinite(seconds) && seconds >= 0)) {
    throw new ScriptedModelError('invalid_script', `${where}.retryAfterSeconds must be a number >= 0, got ${String(seconds)}.`);
  }
}

/**
 * Returns a function that draws the next fault of `plan` (or undefined for no fault), one draw per
 * request; throws a {@link ScriptedModelError} when the plan is invalid.
 */
export function createFaultDraw(plan: FaultPlan): () => Fault | undefined {
  const kinds = plan.kinds ?? defaultFaultPlanKinds;
  if (!(Number.isFinite(plan.rate) && plan.rate >= 0 && plan.rate <= 1)) {
    throw new ScriptedModelError('invalid_fault_plan', `FaultPlan.rate must be a probability in [0, 1], got ${String(plan.rate)}.`);
  }
  if (!Number.isInteger(plan.seed)) {
    throw new ScriptedModelError('invalid_fault_plan', `FaultPlan.seed must be an integer, got ${String(plan.seed)}.`);
  }
  const unknown = kinds.filter((k) => !(faultKinds as readonly string[]).includes(k));
  if (kinds.length === 0 || unknown.length > 0) {
    throw new ScriptedModelError(
      'invalid_fault_plan',
      `FaultPlan.kinds must list at least one of ${faultKinds.join(', ')}` +
        (unknown.length > 0 ? `; unknown: ${unknown.join(', ')}.` : '.'),
    );
  }
  const retryAfterSeconds = plan.retryAfterSeconds ?? defaultRetryAfterSeconds;
  if (!(Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0)) {
    throw new ScriptedModelError('invalid_fault_plan', `FaultPlan.retryAfterSeconds must be a number >= 0, got ${String(retryAfterSeconds)}.`);
  }
  const random = mulberry32(plan.seed);
  return () => {
    if (random() >= plan.rate) return undefined;
    const kind = kinds[Math.floor(random() * kinds.length)] as FaultKind;
    return kind === 'rate_limit' ? { kind, retryAfterSeconds } : { kind };
  };
}

/** How the server answers a fault: hold the request until the stall ends, or send this HTTP response. */
export type FaultAnswer =
  | { stall: true }
  | { disconnect: true; partial: string }
  | { stall: false; status: number; headers: Record<string, string>; body: string };

/** What a fault's answer is built from. */
export interface FaultContext {
  model: string;
  id: string;
  created: number;
  stream: boolean;
  promptTokens: number;
  contextWindowTokens?: number;
}

/** Builds the answer a real provider gives for `fault`. */
export function faultAnswer(fault: Fault, context: FaultContext): FaultAnswer {
  const json = (status: number, body: unknown, headers: Record<string, string> = {}): FaultAnswer => ({
    stall: false,
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  switch (fault.kind) {
    case 'stall':
      return { stall: true };
    case 'disconnect':
      return { disconnect: true, partial: fault.partial ?? '' };
    case 'rate_limit': {
      const seconds = fault.retryAfterSeconds ?? defaultRetryAfterSeconds;
      const message =
        fault.message ??
        `Rate limit reached for ${context.model} on requests per min (RPM): Limit 1, Used 1, Requested 1. ` +
          `Please try again in ${seconds}s.`;
      return json(429, openAIError(message, 'rate_limit_error', 'rate_limit_exceeded'), {
        'retry-after': String(Math.ceil(seconds)),
        'retry-after-ms': String(Math.round(seconds * 1000)),
      });
    }
    case 'server_error':
      return json(
        500,
        openAIError(fault.message ?? 'The server had an error while processing your request. Sorry about that!', 'server_error'),
      );
    case 'unavailable':
      return json(503, openAIError(fault.message ?? 'The server is overloaded or not ready yet.', 'server_error'));
    case 'context_length': {
      const max = context.contextWindowTokens ?? Math.max(1, context.promptTokens - 1);
      const used = Math.max(context.promptTokens, max + 1);
      const message =
        fault.message ??
        `This model's maximum context length is ${max} tokens. However, your messages resulted in ${used} tokens. ` +
          'Please reduce the length of the messages.';
      return json(400, openAIError(message, 'invalid_request_error', 'context_length_exceeded', 'messages'));
    }
    case 'bad_request':
      return json(400, openAIError(fault.message ?? 'Invalid request (scripted bad_request fault).', 'invalid_request_error'));
    case 'unauthorized':
      return json(
        401,
        openAIError(
          fault.message ?? 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
          'invalid_request_error',
          'invalid_api_key',
        ),
      );
    case 'malformed':
      return malformedAnswer(context);
  }
}

// A 200 whose body is the start of a plausible completion, cut off mid-string: what a client sees
// when a proxy or a provider drops the connection's tail. A streamed request gets it as an SSE event.
function malformedAnswer(context: FaultContext): FaultAnswer {
  const object = context.stream ? 'chat.completion.chunk' : 'chat.completion';
  const body =
    `{"id":${JSON.stringify(context.id)},"object":"${object}","created":${context.created},` +
    `"model":${JSON.stringify(context.model)},"choices":[{"index":0,"` +
    (context.stream ? 'delta":{"role":"assistant","content":"The ans' : 'message":{"role":"assistant","content":"The ans');
  return context.stream
    ? { stall: false, status: 200, headers: { 'content-type': 'text/event-stream' }, body: `data: ${body}\n\n` }
    : { stall: false, status: 200, headers: { 'content-type': 'application/json' }, body };
}
