import { APICallError, JSONParseError, RetryError } from 'ai';
import { describe, expect, it } from 'vitest';
import { classifyFailure, parseRetryAfter } from './classifyFailure.js';
import { CircuitOpenError, ModelCallError } from './errors.js';

function apiError(
  statusCode: number | undefined,
  body?: unknown,
  headers?: Record<string, string>,
  extra: Partial<ConstructorParameters<typeof APICallError>[0]> = {},
): APICallError {
  const responseBody = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  let message = 'Bad Request';
  if (body && typeof body === 'object' && 'error' in body) message = String((body as { error: { message: string } }).error.message);
  return new APICallError({
    message,
    url: 'http://127.0.0.1/v1/chat/completions',
    requestBodyValues: {},
    ...(statusCode === undefined ? {} : { statusCode }),
    ...(responseBody === undefined ? {} : { responseBody }),
    ...(headers === undefined ? {} : { responseHeaders: headers }),
    ...extra,
  });
}

const NOW = Date.parse('2025-01-01T00:00:00Z');
const now = () => NOW;

describe('classifyFailure', () => {
  it('classifies a 429 as a rate limit and reads retry-after in seconds', () => {
    const failure = classifyFailure(apiError(429, { error: { message: 'Slow down' } }, { 'retry-after': '7' }), { now });
    expect(failure).toMatchObject({ kind: 'rate_limit', status: 429, retryAfterMs: 7000 });
    expect(failure.message).toContain('Slow down');
  });

  it('reads retry-after given as an HTTP date relative to the injected clock', () => {
    const failure = classifyFailure(
      apiError(429, { error: { message: 'x' } }, { 'retry-after': new Date(NOW + 30_000).toUTCString() }),
      { now },
    );
    expect(failure.retryAfterMs).toBe(30_000);
  });

  it('prefers retry-after-ms over retry-after', () => {
    expect(parseRetryAfter({ 'retry-after-ms': '1500', 'retry-after': '9' })).toBe(1500);
  });

  it('ignores an unparseable retry-after', () => {
    expect(parseRetryAfter({ 'retry-after': 'soon' })).toBeUndefined();
    const failure = classifyFailure(apiError(429, { error: { message: 'x' } }, { 'retry-after': 'soon' }));
    expect(failure.kind).toBe('rate_limit');
    expect(failure.retryAfterMs).toBeUndefined();
  });

  it('treats a 429 for an exhausted quota as a bad request, since waiting will not help', () => {
    const failure = classifyFailure(
      apiError(429, { error: { message: 'You exceeded your current quota', code: 'insufficient_quota' } }),
    );
    expect(failure).toMatchObject({ kind: 'bad_request', providerCode: 'insufficient_quota' });
  });

  it.each([500, 502, 503, 504, 529])('classifies HTTP %i as transient', (status) => {
    expect(classifyFailure(apiError(status, { error: { message: 'oops' } })).kind).toBe('transient');
  });

  it('keeps the retry-after of a 503', () => {
    expect(classifyFailure(apiError(503, '', { 'retry-after': '2' })).retryAfterMs).toBe(2000);
  });

  it.each([400, 401, 403, 404, 422])('classifies HTTP %i as a bad request', (status) => {
    expect(classifyFailure(apiError(status, { error: { message: 'no' } })).kind).toBe('bad_request');
  });

  it('detects context overflow from the OpenAI error code', () => {
    const failure = classifyFailure(
      apiError(400, { error: { message: 'too long', type: 'invalid_request_error', code: 'context_length_exceeded' } }),
    );
    expect(failure).toMatchObject({ kind: 'context_overflow', status: 400, providerCode: 'context_length_exceeded' });
  });

  it('detects context overflow from a vLLM-style message', () => {
    const failure = classifyFailure(
      apiError(400, {
        error: { message: "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens." },
      }),
    );
    expect(failure.kind).toBe('context_overflow');
  });

  it("detects context overflow from Anthropic's 'prompt is too long'", () => {
    const failure = classifyFailure(
      apiError(400, {
        type: 'error',
        error: { type: 'invalid_request_error', message: 'prompt is too long: 210000 tokens > 200000 maximum' },
      }),
    );
    expect(failure.kind).toBe('context_overflow');
  });

  it('detects context overflow from a llama.cpp error type', () => {
    const failure = classifyFailure(
      apiError(400, { error: { code: 400, type: 'exceed_context_size_error', message: 'request exceeds the available context size' } }),
    );
    expect(failure.kind).toBe('context_overflow');
  });

  it('classifies a malformed 200 body as transient', () => {
    const error = apiError(200, 'not json{', {}, {
      message: 'Invalid JSON response',
      cause: new JSONParseError({ text: 'not json{', cause: new Error('Unexpected token') }),
    });
    const failure = classifyFailure(error);
    expect(failure.kind).toBe('transient');
    expect(failure.message).toMatch(/malformed response/);
  });

  it('classifies a bare JSON parse error as transient', () => {
    expect(classifyFailure(new JSONParseError({ text: '{', cause: new Error('x') })).kind).toBe('transient');
  });

  it('classifies a connection reset as transient', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(classifyFailure(new TypeError('fetch failed', { cause: reset })).kind).toBe('transient');
    expect(classifyFailure(reset).kind).toBe('transient');
  });

  it('classifies an API error without a status (no connection) as transient', () => {
    expect(classifyFailure(apiError(undefined, undefined, undefined, { message: 'Cannot connect to API' })).kind).toBe(
      'transient',
    );
  });

  it('classifies timeouts and aborts apart', () => {
    expect(classifyFailure(new DOMException('The operation timed out.', 'TimeoutError')).kind).toBe('timeout');
    expect(classifyFailure(new DOMException('This operation was aborted', 'AbortError')).kind).toBe('aborted');
    expect(classifyFailure(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' })).kind).toBe('timeout');
    expect(classifyFailure(apiError(408, { error: { message: 'timeout' } })).kind).toBe('timeout');
  });

  it('unwraps the AI SDK RetryError to its last error', () => {
    const last = apiError(429, { error: { message: 'x' } }, { 'retry-after': '1' });
    const error = new RetryError({ message: 'failed', reason: 'maxRetriesExceeded', errors: [last] });
    expect(classifyFailure(error)).toMatchObject({ kind: 'rate_limit', retryAfterMs: 1000 });
  });

  it('returns the failure a ModelCallError already carries', () => {
    const failure = { kind: 'malformed_output' as const, message: 'm', issues: [{ path: 'a', message: 'b' }] };
    expect(classifyFailure(new ModelCallError({ failure, provider: 'p', model: 'm' }))).toBe(failure);
  });

  it('treats an open circuit as transient with its wait', () => {
    expect(classifyFailure(new CircuitOpenError({ breaker: 'b', retryAfterMs: 500 }))).toMatchObject({
      kind: 'transient',
      retryAfterMs: 500,
    });
  });

  it('fails fast on something it does not recognise', () => {
    expect(classifyFailure(new Error('boom')).kind).toBe('bad_request');
    expect(classifyFailure('a string').kind).toBe('bad_request');
  });

  it('produces JSON-serialisable failures', () => {
    const failure = classifyFailure(apiError(429, { error: { message: 'x' } }, { 'retry-after': '1' }));
    expect(JSON.parse(JSON.stringify(failure))).toEqual(failure);
  });
});
