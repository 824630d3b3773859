import { RetryableError, SpineError } from '../errors.js';

/** How many times a step may fail in different ways before it ends anyway. */
export const MAX_STEP_FAILURES = 5;

/**
 * Counts the failed attempts of each step (by `actorId:eventId`) in this host, so that a
 * step failing the same way twice, or `MAX_STEP_FAILURES` times in any way, ends with the
 * reason instead of being tried forever. Counts live in memory: a restarted host starts over.
 */
export class StepFailures {
  readonly #failures = new Map<string, { message: string; count: number }>();

  /** Records a failure: undefined to try the step again, else the reason it ends with. */
  failed(key: string, failure: Error): string | undefined {
    const seen = this.#failures.get(key);
    const count = (seen?.count ?? 0) + 1;
    if (seen?.message !== failure.message && count < MAX_STEP_FAILURES) {
      this.#failures.set(key, { message: failure.message, count });
      return undefined;
    }
    this.#failures.delete(key);
    return `The step could not be committed; it failed ${seen?.message === failure.message ? 'twice ' : `${count} times, last `}with: ${failure.message}`;
  }

  /** The step committed: forget its failures. */
  succeeded(key: string): void {
    this.#failures.delete(key);
  }
}

/**
 * Whether an error says the storage or the host, not the step, is the problem, so that
 * trying the same step again later can succeed: a classified storage failure (a
 * persistent one stops the host), a host or store being closed, a timeout, a
 * `RetryableError`, or a raw driver error of that kind (SQLite busy/locked/I/O/full;
 * PostgreSQL connection, rollback/serialization, resource and operator classes;
 * network errno codes).
 */
export function isTransientStepError(error: Error): boolean {
  if (SpineError.is(error)) return error.code.startsWith('storage_') || error.code === 'closed' || error.code === 'timeout' || error.code === 'retryable';
  if (error instanceof RetryableError) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  return /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|CORRUPT|NOTADB|PROTOCOL)|^(08|40|53|57|58)[0-9A-Z]{3}$|^E(CONNRESET|CONNREFUSED|CONNABORTED|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH|AI_AGAIN|NOSPC|IO|ROFS|DQUOT)$/.test(code);
}

