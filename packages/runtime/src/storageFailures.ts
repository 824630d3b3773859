import { SpineError, type SpineErrorCode } from './errors.js';

// The engine-independent part of reporting storage failures, shared by the stores: the error
// code of each kind of failure and the wrapping of a store's methods. Classifying a driver's
// error and wording the message are each store's own (storageErrors.ts in each package).

/** The kinds of storage failure every store reports. */
export type StorageFailureKind = 'full' | 'read_only' | 'corrupt' | 'busy' | 'io';

/** The SpineError code of each kind of storage failure. */
export const STORAGE_FAILURE_CODES: Readonly<Record<StorageFailureKind, SpineErrorCode>> = {
  full: 'storage_full',
  read_only: 'storage_read_only',
  corrupt: 'storage_corrupt',
  busy: 'storage_busy',
  io: 'storage_io',
};

const latched = new WeakMap<object, SpineError>();

/** Whether a store found its storage corrupt (it then refuses every call but `close`). */
export function foundCorrupt(store: object): boolean {
  return latched.has(store);
}

/** How a store class turns a raw error into its classified one, and what it does on finding corruption. */
export interface StorageErrorReporting<Self extends object> {
  /** The classified SpineError for a raw driver error, or the error itself when it is no storage failure. */
  toStorageError(self: Self, error: unknown): unknown;
  /** Called when a call of an instance (other than `close`) found its storage corrupt. */
  onCorrupt?(self: Self): void;
}

/**
 * Makes every method of a store class report storage failures as classified SpineErrors
 * instead of raw driver errors. After the first `storage_corrupt` error an instance refuses
 * every further call with that error, so nothing more is written to damaged storage.
 * `close` is never refused.
 */
export function latchStorageErrors<Self extends object>(store: { prototype: Self }, how: StorageErrorReporting<Self>): void {
  const proto = store.prototype as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    const method = descriptor?.value;
    if (name === 'constructor' || typeof method !== 'function') continue;
    const fail = (self: Self, error: unknown): never => {
      const mapped = how.toStorageError(self, error);
      if (SpineError.is(mapped) && mapped.code === 'storage_corrupt' && name !== 'close') {
        latched.set(self, mapped);
        how.onCorrupt?.(self);
      }
      throw mapped;
    };
    const wrapped = function (this: Self, ...args: unknown[]): unknown {
      const refused = name === 'close' ? undefined : latched.get(this);
      if (refused) return Promise.reject(refused);
      let result: unknown;
      try {
        result = (method as (...a: unknown[]) => unknown).apply(this, args);
      } catch (error) {
        return fail(this, error);
      }
      return result instanceof Promise ? result.catch((error: unknown) => fail(this, error)) : result;
    };
    Object.defineProperty(wrapped, 'name', { value: name });
    Object.defineProperty(proto, name, { ...descriptor, value: wrapped });
  }
}
