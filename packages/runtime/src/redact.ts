/** What a secret is replaced with wherever Spine stores, logs or exports a value. */
export const REDACTED = '[redacted]';

/** Environment variable names whose values are secrets (API keys, tokens, passwords, SPINE_SECRET). */
const SECRET_NAME = /(^|_)(API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|AUTH)$/i;
/** Shorter values are not treated as secrets: replacing them would mangle ordinary text. */
const MIN_SECRET_LENGTH = 8;

/**
 * The secret values of an environment: every variable whose name ends in KEY,
 * TOKEN, SECRET, PASSWORD, CREDENTIAL(S) or AUTH and whose value is at least 8 characters.
 */
export function secretsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (value && value.length >= MIN_SECRET_LENGTH && SECRET_NAME.test(name)) values.add(value);
  }
  return [...values];
}

/** Replaces known secret values in text and in JSON-like values. */
export class Redactor {
  readonly #needles: string[];
  readonly #shortest: number;

  constructor(secrets: readonly string[]) {
    const needles = new Set<string>();
    for (const secret of secrets) {
      if (secret.length < MIN_SECRET_LENGTH) continue;
      needles.add(secret);
      needles.add(JSON.stringify(secret).slice(1, -1)); // as it appears inside JSON text
    }
    // Longest first, so a secret that contains another is replaced whole.
    this.#needles = [...needles].sort((a, b) => b.length - a.length);
    this.#shortest = this.#needles.at(-1)?.length ?? Infinity;
  }

  /** Whether there is anything to redact. */
  get active(): boolean {
    return this.#needles.length > 0;
  }

  /** Text with every secret replaced by `[redacted]`. */
  text(value: string): string {
    let out = value;
    for (const needle of this.#needles) if (out.includes(needle)) out = out.split(needle).join(REDACTED);
    return out;
  }

  /**
   * A value with every string (and object key) redacted; other values are kept. A copy where
   * something was redacted; the value itself when nothing was (so a step's commit, written
   * with a provider key in the environment, is read through once instead of copied).
   */
  value<T>(value: T): T {
    if (!this.#needles.length || !this.#holds(value)) return value;
    return this.#walk(value) as T;
  }

  #holdsText(text: string): boolean {
    if (text.length < this.#shortest) return false; // most keys and ids: too short to hold one
    for (const needle of this.#needles) if (text.includes(needle)) return true;
    return false;
  }

  /** Whether `#walk` would change anything: the same strings and keys, read without copying. */
  #holds(value: unknown): boolean {
    if (typeof value === 'string') return this.#holdsText(value);
    if (Array.isArray(value)) {
      for (const item of value) if (this.#holds(item)) return true;
      return false;
    }
    if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      // for-in, not Object.keys (no array per object): an enumerable key inherited from a tampered
      // Object.prototype is read too, which can only make a copy that was not needed.
      for (const key in value) if (this.#holdsText(key) || this.#holds((value as Record<string, unknown>)[key])) return true;
    }
    return false;
  }

  #walk(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.#walk(v));
    if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[this.text(k)] = this.#walk(v);
      return out;
    }
    return value;
  }
}

/** Store methods whose arguments are written to the database. */
const WRITES = new Set([
  'saveMachineVersion',
  'createActors',
  'enqueue',
  'discardEvent',
  'commitStep',
  'commitBatch',
  'recordDeadLetters',
  'completeJob',
  'retryJob',
  'resolveApproval',
  'appendAudit',
  'forkRun',
  'stopRun',
  'moveActorVersion',
]);

/**
 * Wraps a store so that nothing it writes contains a secret: every string in the
 * arguments of its write methods is redacted first. Reads pass through.
 *
 * The wrapper is a plain object with one function per method the store has when wrapped (each
 * calls the store's method of the moment), not a Proxy: a Proxy's trap on every method look-up
 * cost a step about a tenth of its time.
 */
export function redactingStore<S extends object>(store: S, redactor: Redactor): S {
  if (!redactor.active) return store;
  const target = store as Record<PropertyKey, (...args: unknown[]) => unknown>;
  const wrapper = Object.create(Object.getPrototypeOf(store) as object) as Record<PropertyKey, unknown>;
  const seen = new Set<PropertyKey>();
  for (let layer: object | null = store; layer && layer !== Object.prototype; layer = Object.getPrototypeOf(layer) as object | null) {
    for (const key of Reflect.ownKeys(layer)) {
      if (key === 'constructor' || seen.has(key)) continue;
      seen.add(key);
      const descriptor = Object.getOwnPropertyDescriptor(layer, key)!;
      if (typeof descriptor.value === 'function') {
        const writes = typeof key === 'string' && WRITES.has(key);
        const method = writes ? (...args: unknown[]) => target[key]!(...args.map((a) => redactor.value(a))) : (...args: unknown[]) => target[key]!(...args);
        Object.defineProperty(wrapper, key, { value: method, enumerable: descriptor.enumerable ?? false, writable: true, configurable: true });
      } else {
        Object.defineProperty(wrapper, key, { get: () => Reflect.get(store, key), enumerable: descriptor.enumerable ?? false, configurable: true });
      }
    }
  }
  return wrapper as S;
}
