import { SpineError, type SpineErrorCode } from './errors.js';

/** Storage failures that another attempt cannot fix: the disk is full, read-only, corrupt or failing. */
const PERSISTENT: ReadonlySet<SpineErrorCode> = new Set(['storage_full', 'storage_read_only', 'storage_corrupt', 'storage_io']);

/**
 * Whether an error is a storage failure that retrying cannot fix (the store
 * classified it as full, read-only, corrupt or I/O). A host that meets one stops
 * instead of retrying the same write forever; `storage_busy` is not one.
 */
export function isPersistentStorageError(error: unknown): error is SpineError {
  return SpineError.is(error) && PERSISTENT.has(error.code);
}

/**
 * The first persistent storage error a host met, once: the host stops taking
 * work, `waitForRun` rethrows it, and `failed` resolves with it so a long-running
 * process (`spine serve`) can exit with one clear message.
 */
export class HostFailure {
  #error: SpineError | undefined;
  #resolve!: (error: SpineError) => void;
  /** Resolves with the error that stopped the host; never rejects. */
  readonly failed: Promise<SpineError> = new Promise((resolve) => (this.#resolve = resolve));

  /** The error that stopped the host, if one did. */
  get error(): SpineError | undefined {
    return this.#error;
  }

  /** Records a persistent storage error; returns true the first time only (the caller then stops the host). */
  fail(error: Error): boolean {
    if (this.#error || !isPersistentStorageError(error)) return false;
    this.#error = error;
    this.#resolve(error);
    return true;
  }

  /** Throws the recorded error, if any. */
  throwIfFailed(): void {
    if (this.#error) throw this.#error;
  }
}
