import {
  APICallError,
  EmptyResponseBodyError,
  InvalidResponseDataError,
  JSONParseError,
  NoContentGeneratedError,
  RetryError,
  TypeValidationError,
} from 'ai';
import { LlmError, ModelCallError } from './errors.js';
import type { Failure } from './Failure.js';

/** Options of `classifyFailure`. */
export interface ClassifyOptions {
  /** The clock used to turn an HTTP-date `retry-after` into a delay. Default `Date.now`. */
  now?: () => number;
}

const MAX_MESSAGE = 500;

const OVERFLOW_CODES = new Set([
  'context_length_exceeded', // OpenAI, vLLM, many OpenAI-compatible servers
  'exceed_context_size_error', // llama.cpp server
  'string_above_max_length',
  'request_too_large', // Anthropic 413
]);

const OVERFLOW_PATTERNS: readonly RegExp[] = [
  /maximum context length/i,
  /context[_ ]length[_ ]exceeded/i,
  /prompt is too long/i, // Anthropic
  /exceeds? (the )?(available )?context (size|window|length)/i, // llama.cpp, LM Studio
  /context window/i,
  /reduce the length of the (messages|input|prompt)/i,
  /too many (input )?tokens/i,
  /input is too long/i,
];

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ConnectionRefused',
  'ConnectionClosed',
  'FailedToOpenSocket',
]);

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * Classifies anything a model call threw into a `Failure` (pure: no I/O, clock injectable).
 *
 * Understands the AI SDK's errors (`APICallError` with status, headers and body; JSON parse and
 * validation errors of a 200 body; `RetryError`), abort and timeout errors, Node network errors
 * (`ECONNRESET`, ...) and Spine's own `ModelCallError`. Anything unrecognised is a `bad_request`:
 * an unknown failure fails fast rather than spending money on retries.
 *
 * @example
 * ```ts
 * const failure = classifyFailure(error);
 * const decision = decide(failure, attempt);
 * ```
 */
export function classifyFailure(error: unknown, options: ClassifyOptions = {}): Failure {
  const now = options.now ?? Date.now;

  if (error instanceof ModelCallError) return error.failure;
  if (RetryError.isInstance(error)) return classifyFailure(error.lastError, options);
  if (error instanceof LlmError) {
    return {
      kind: error.retryable ? 'transient' : 'bad_request',
      message: error.message,
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    };
  }

  if (isNamed(error, 'TimeoutError') || isNamed(causeOf(error), 'TimeoutError')) {
    return { kind: 'timeout', message: 'The model call timed out.' };
  }
  if (isNamed(error, 'AbortError') || isNamed(error, 'ResponseAborted')) {
    return { kind: 'aborted', message: 'The model call was aborted.' };
  }

  if (APICallError.isInstance(error)) return classifyApiCallError(error, now);

  if (
    JSONParseError.isInstance(error) ||
    TypeValidationError.isInstance(error) ||
    InvalidResponseDataError.isInstance(error) ||
    EmptyResponseBodyError.isInstance(error) ||
    NoContentGeneratedError.isInstance(error)
  ) {
    return {
      kind: 'transient',
      message: `The provider returned a malformed response: ${truncate(messageOf(error))}`,
    };
  }

  const networkCode = findCode(error);
  if (networkCode !== undefined && TIMEOUT_CODES.has(networkCode)) {
    return { kind: 'timeout', message: `Network timeout (${networkCode}).` };
  }
  if (networkCode !== undefined && NETWORK_CODES.has(networkCode)) {
    return { kind: 'transient', message: `Network error (${networkCode}): ${truncate(messageOf(error))}` };
  }
  if (error instanceof TypeError && /fetch failed|failed to fetch/i.test(error.message)) {
    return { kind: 'transient', message: `Network error: ${truncate(messageOf(causeOf(error) ?? error))}` };
  }

  return { kind: 'bad_request', message: `Unrecognised failure: ${truncate(messageOf(error))}` };
}

function classifyApiCallError(error: APICallError, now: () => number): Failure {
  const status = error.statusCode;
  const body = parseErrorBody(error.responseBody, error.data);
  const providerMessage = body.message ?? error.message;
  const base = {
    ...(status === undefined ? {} : { status }),
    ...(body.code === undefined ? {} : { providerCode: body.code }),
  };
  const describe = (what: string) =>
    truncate(`${what}${status === undefined ? '' : ` (HTTP ${status})`}: ${providerMessage}`);

  if (status === undefined) {
    // No response at all: the connection failed (the SDK marks these retryable).
    const code = findCode(error);
    if (code !== undefined && TIMEOUT_CODES.has(code)) return { kind: 'timeout', message: describe('Network timeout') };
    return { kind: 'transient', ...base, message: describe('Cannot reach the provider') };
  }
  if (status >= 200 && status < 300) {
    return { kind: 'transient', ...base, message: describe('The provider returned a malformed response body') };
  }
  if (status === 429) {
    if (body.code === 'insufficient_quota') {
      return { kind: 'bad_request', ...base, message: describe('The account has no quota left; retrying will not help') };
    }
    const retryAfterMs = parseRetryAfter(error.responseHeaders, now);
    return {
      kind: 'rate_limit',
      ...base,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      message: describe('Rate limited'),
    };
  }
  if (isContextOverflow(status, body, providerMessage, error.responseBody)) {
    return { kind: 'context_overflow', ...base, message: describe('The prompt exceeds the model context window') };
  }
  if (status === 408) return { kind: 'timeout', ...base, message: describe('The provider timed out') };
  if (status >= 500 || status === 409) {
    const retryAfterMs = parseRetryAfter(error.responseHeaders, now);
    return {
      kind: 'transient',
      ...base,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      message: describe('Provider error'),
    };
  }
  return { kind: 'bad_request', ...base, message: describe('The provider refused the request') };
}

function isContextOverflow(
  status: number,
  body: { code?: string; type?: string; message?: string },
  message: string,
  rawBody: string | undefined,
): boolean {
  if (status === 413) return true;
  if (body.code !== undefined && OVERFLOW_CODES.has(body.code)) return true;
  if (body.type !== undefined && OVERFLOW_CODES.has(body.type)) return true;
  const text = `${message}\n${rawBody ?? ''}`;
  return OVERFLOW_PATTERNS.some((pattern) => pattern.test(text));
}

/** Pulls `{ code, type, message }` out of an OpenAI- or Anthropic-shaped error body. */
function parseErrorBody(
  responseBody: string | undefined,
  data: unknown,
): { code?: string; type?: string; message?: string } {
  let parsed: unknown = data;
  if (parsed === undefined && responseBody) {
    try {
      parsed = JSON.parse(responseBody);
    } catch {
      return {};
    }
  }
  const inner = isRecord(parsed) && isRecord(parsed['error']) ? parsed['error'] : parsed;
  if (!isRecord(inner)) return {};
  const out: { code?: string; type?: string; message?: string } = {};
  const code = inner['code'];
  if (typeof code === 'string' || typeof code === 'number') out.code = String(code);
  if (typeof inner['type'] === 'string') out.type = inner['type'];
  if (typeof inner['message'] === 'string') out.message = inner['message'];
  return out;
}

/**
 * Reads how long a provider asked us to wait: `retry-after-ms`, or `retry-after` in seconds or as
 * an HTTP date (relative to `now`). Returns undefined when absent or unparseable.
 */
export function parseRetryAfter(
  headers: Record<string, string | undefined> | undefined,
  now: () => number = Date.now,
): number | undefined {
  if (!headers) return undefined;
  const get = (name: string) => {
    for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value?.trim();
    return undefined;
  };
  const ms = get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.round(Number(ms));
  const value = get('retry-after');
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now());
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNamed(error: unknown, name: string): boolean {
  return isRecord(error) || error instanceof Error ? (error as { name?: unknown }).name === name : false;
}

function causeOf(error: unknown): unknown {
  return error instanceof Error ? error.cause : undefined;
}

/** Finds a Node/undici error code along the cause chain. */
function findCode(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || TIMEOUT_CODES.has(code))) return code;
    current = current.cause;
  }
  return undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}
