/** Every failure the runtime reports, as a string union so callers can switch on it. */
export type SpineErrorCode =
  | 'invalid_event'
  | 'invalid_input'
  | 'unknown_machine'
  | 'unknown_version'
  | 'incompatible_version'
  | 'unknown_actor'
  /** Run control (`control/`): no such run, step or job; nothing failed that could be retried. */
  | 'unknown_run'
  | 'unknown_step'
  | 'unknown_job'
  | 'nothing_to_retry'
  | 'unknown_activity'
  | 'actor_not_active'
  | 'invalid_machine'
  | 'not_persistable'
  | 'store_refused'
  | 'conflict'
  | 'payload_too_large'
  | 'activity_failed'
  | 'retryable'
  | 'terminal'
  | 'timeout'
  | 'closed'
  | 'unknown_approval'
  | 'approval_closed'
  | 'no_secret'
  | 'decision_refused'
  /** Storage errors, classified by the store (see `isPersistentStorageError`): */
  | 'storage_full'
  | 'storage_read_only'
  | 'storage_corrupt'
  | 'storage_busy'
  | 'storage_io';

/** One issue found by a schema, with the path of the field it is about. */
export interface FieldIssue {
  path: string;
  message: string;
}

const SPINE_ERROR = Symbol.for('spine.error');
const RETRYABLE = Symbol.for('spine.error.retryable');
const TERMINAL = Symbol.for('spine.error.terminal');

function branded(value: unknown, brand: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/** The brand a class checks under `instanceof` (set on SpineError, RetryableError, TerminalError). */
const CLASS_BRAND = Symbol.for('spine.error.classBrand');

/**
 * `instanceof` by brand, as Temporal's `SymbolBasedInstanceOfError`: an error made by another
 * copy of this package (a second install, a TypeScript loader) still passes `instanceof`.
 * Subclasses without their own brand (user errors extending SpineError) use the prototype chain.
 */
function hasInstance(cls: object, value: unknown): boolean {
  const brand = Object.prototype.hasOwnProperty.call(cls, CLASS_BRAND) ? (cls as Record<symbol, symbol>)[CLASS_BRAND] : undefined;
  if (brand) return branded(value, brand);
  return Function.prototype[Symbol.hasInstance].call(cls, value);
}

/**
 * Makes an error of another family count as the runtime's `RetryableError` or
 * `TerminalError` (for `is()` and `instanceof`) without changing its class: how
 * `@spine/llm`'s `LlmError` maps onto the two kinds the host acts on. The error
 * should carry `kind` and, when retryable, may carry `retryAfterMs`.
 */
export function markError(error: Error, as: 'retryable' | 'terminal'): void {
  Object.defineProperty(error, SPINE_ERROR, { value: true, configurable: true });
  Object.defineProperty(error, as === 'retryable' ? RETRYABLE : TERMINAL, { value: true, configurable: true });
}

/**
 * Base error of the runtime; `code` says what went wrong and the structured fields say where.
 * Use the static `is()` guards rather than `instanceof`: machine code loaded through another
 * module instance (a TypeScript loader, a second copy of the package) has other class objects.
 */
export class SpineError extends Error {
  static {
    Object.defineProperty(this, CLASS_BRAND, { value: SPINE_ERROR });
  }
  /** Whether a value is a SpineError from any copy of this package. */
  static is(value: unknown): value is SpineError {
    return branded(value, SPINE_ERROR);
  }
  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasInstance(this, value);
  }
  override name = 'SpineError';
  readonly code: SpineErrorCode;
  readonly actorId?: string;
  readonly machine?: string;
  readonly issues?: FieldIssue[];

  constructor(
    code: SpineErrorCode,
    message: string,
    options: { cause?: unknown; actorId?: string; machine?: string; issues?: FieldIssue[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    Object.defineProperty(this, SPINE_ERROR, { value: true });
    this.code = code;
    if (options.actorId !== undefined) this.actorId = options.actorId;
    if (options.machine !== undefined) this.machine = options.machine;
    if (options.issues !== undefined) this.issues = options.issues;
  }
}

/**
 * Thrown by an activity to ask for another attempt later; the host waits
 * `retryAfterMs` durably (the wait survives a crash) up to the activity's attempt cap.
 */
export class RetryableError extends SpineError {
  static {
    Object.defineProperty(this, CLASS_BRAND, { value: RETRYABLE });
  }
  /** Whether a value is a RetryableError from any copy of this package. */
  static override is(value: unknown): value is RetryableError {
    return branded(value, RETRYABLE);
  }
  override name = 'RetryableError';
  readonly retryAfterMs: number | undefined;
  /** The kind of failure, e.g. `rate_limit` or `transient`, recorded in the job journal. */
  readonly kind: string;

  constructor(message: string, options: { retryAfterMs?: number; kind?: string; cause?: unknown } = {}) {
    super('retryable', message, { cause: options.cause });
    Object.defineProperty(this, RETRYABLE, { value: true });
    this.retryAfterMs = options.retryAfterMs;
    this.kind = options.kind ?? 'transient';
  }
}

/** Thrown by an activity when another attempt cannot help; the step fails at once. */
export class TerminalError extends SpineError {
  static {
    Object.defineProperty(this, CLASS_BRAND, { value: TERMINAL });
  }
  /** Whether a value is a TerminalError from any copy of this package. */
  static override is(value: unknown): value is TerminalError {
    return branded(value, TERMINAL);
  }
  override name = 'TerminalError';
  readonly kind: string;
  /** JSON-safe details forwarded to the machine in the error event. */
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options: { kind?: string; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super('terminal', message, { cause: options.cause });
    Object.defineProperty(this, TERMINAL, { value: true });
    this.kind = options.kind ?? 'terminal';
    this.details = options.details;
  }
}

/** One line for a list of field issues: `items[0].price: Expected number; name: Required`. */
export function formatIssues(issues: readonly FieldIssue[]): string {
  return issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; ');
}

/** Normalises anything thrown into an Error, once, at a boundary. */
export function ensureError(value: unknown): Error {
  if (value instanceof Error) return value;
  const plain = value as { message?: unknown; name?: unknown } | null;
  if (plain && typeof plain === 'object' && typeof plain.message === 'string') {
    // A serialised error (e.g. the `error` of an `xstate.error.actor.*` event).
    const error = new Error(plain.message);
    if (typeof plain.name === 'string') error.name = plain.name;
    return error;
  }
  try {
    return new Error(typeof value === 'string' ? value : JSON.stringify(value));
  } catch {
    return new Error(String(value));
  }
}

/** The JSON shape an error takes when it is journaled or delivered to a machine. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  kind?: string;
  details?: Record<string, unknown>;
}

/** Turns an error into JSON that can be stored and sent as `xstate.error.actor.*` data. */
export function serializeError(value: unknown): SerializedError {
  const error = ensureError(value);
  const out: SerializedError = { name: error.name, message: error.message };
  if (SpineError.is(error)) out.code = error.code;
  if (RetryableError.is(error) || TerminalError.is(error)) out.kind = error.kind;
  if (TerminalError.is(error) && error.details) out.details = error.details;
  const kind = (error as { kind?: unknown }).kind;
  if (out.kind === undefined && typeof kind === 'string') out.kind = kind;
  return out;
}
