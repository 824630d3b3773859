import { CircuitBreaker, type CircuitBreakerJSON, type CircuitBreakerOptions } from './CircuitBreaker.js';
import { restoredSeed, trackEnvironment } from './restoreBreakers.js';
import { defaultRetryPolicies, type RetryPolicies } from './decide.js';
import { ConfigError } from './errors.js';
import { loadPriceTable, type PriceTable } from './loadPriceTable.js';
import { resolveProvider, type FetchFunction, type ProviderConfig, type ProviderKind } from './resolveProvider.js';

/** The model an agent asks for: one id for every provider, or one per provider family. */
export type ModelChoice = string | Partial<Record<ProviderKind, string>>;

/** How tools are retried before they are disabled (durably: each retry is a new activity attempt). */
export interface ToolRetryPolicy {
  /** Attempts per tool call, the first included. Default 3. */
  maxAttempts: number;
  /** Default 200. */
  baseDelayMs: number;
  /** Default 5 000. */
  maxDelayMs: number;
}

/** Options of `createLlmEnvironment`; every field has a default. */
export interface LlmEnvironmentOptions {
  /** Where provider settings are read, at each first use (default `process.env`, read live). */
  env?: Record<string, string | undefined>;
  /** Default: the built-in table laid under `SPINE_PRICES` (read at first use). */
  prices?: PriceTable;
  /** The retry table (default `defaultRetryPolicies`). */
  policies?: RetryPolicies;
  /** Options of every provider and tool breaker (default: 5 failures in a row, 30 s cool-down). */
  breaker?: Omit<CircuitBreakerOptions, 'now'>;
  /** Per model call (default 60 000). */
  timeoutMs?: number;
  toolRetry?: Partial<ToolRetryPolicy>;
  /** Jitter source (default `Math.random`); inject `seededRandom(n)` for reproducible delays. */
  random?: () => number;
  /** The clock of the breakers (default `Date.now`). */
  now?: () => number;
  /** A `fetch` for every model call (tests, proxies). */
  fetch?: FetchFunction;
  /** Told about each provider the first time an agent resolves it; default: one line on stderr per provider. */
  onProvider?: (provider: ProviderConfig, agent: string) => void;
}

/**
 * What model and tool activities share in one process: provider resolution per agent, the
 * price table, the retry table, and one circuit breaker per provider and per tool.
 */
export interface LlmEnvironment {
  readonly policies: RetryPolicies;
  readonly timeoutMs: number;
  readonly toolRetry: ToolRetryPolicy;
  readonly random: () => number;
  readonly now: () => number;
  readonly fetch: FetchFunction | undefined;
  /** The price table (loaded at first use). */
  prices(): PriceTable;
  /**
   * The provider and model an agent uses: `SPINE_MODEL_<AGENT>`, then `SPINE_MODEL`, then the
   * agent's choice for the configured provider family.
   *
   * @throws ConfigError when no provider is configured, saying how to configure one and that
   *   `npm start` runs the offline demo.
   */
  provider(agent: string, model?: ModelChoice): ProviderConfig;
  /** The breaker of that name (`provider:<id>`, `tool:<name>`), created on first use, shared by every run of this process. */
  breaker(name: string): CircuitBreaker;
  /** Every breaker used so far, by name. */
  breakers(): ReadonlyMap<string, CircuitBreaker>;
  /** Replaces this environment's breakers of those names with the given states (see `readBreakerStates`). */
  restoreBreakers(states: readonly CircuitBreakerJSON[]): void;
}

// Process-wide (a module loaded twice, e.g. once per machine file by a loader, shares it): each
// provider is announced once per process.
const announced: Set<string> = ((globalThis as Record<symbol, unknown>)[Symbol.for('spine.llm.announcedProviders')] ??= new Set<string>()) as Set<string>;

/**
 * Creates the environment model and tool activities run in.
 *
 * @example
 * ```ts
 * const llm = createLlmEnvironment({ policies: retryPolicies({ rate_limit: { baseDelayMs: 10 } }) });
 * const think = modelActivity({ agent: 'writer', llm, model: 'gpt-4o-mini', request: ({ context }) => ({ messages: context.messages }) });
 * ```
 */
export function createLlmEnvironment(options: LlmEnvironmentOptions = {}): LlmEnvironment {
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const toolRetry: ToolRetryPolicy = { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 5_000, ...options.toolRetry };
  const onProvider =
    options.onProvider ??
    ((provider: ProviderConfig) => {
      if (announced.has(provider.description)) return;
      announced.add(provider.description);
      process.stderr.write(`spine: model provider: ${provider.description}\n`);
    });
  let prices = options.prices;
  const providers = new Map<string, ProviderConfig>();
  const breakers = new Map<string, CircuitBreaker>();

  const breakerOptions = { ...options.breaker, now };
  const environment: LlmEnvironment = {
    policies: options.policies ?? defaultRetryPolicies,
    timeoutMs: options.timeoutMs ?? 60_000,
    toolRetry,
    random: options.random ?? Math.random,
    now,
    fetch: options.fetch,
    prices: () => (prices ??= loadPriceTable(env['SPINE_PRICES'])),
    provider(agent, model) {
      const wanted = agentModel(env, agent, model);
      const cacheKey = `${agent}\u0000${wanted ?? ''}`;
      let provider = providers.get(cacheKey);
      if (!provider) {
        try {
          // `agentModel` already applied SPINE_MODEL (after SPINE_MODEL_<AGENT>); keep resolveProvider from re-applying it.
          provider = resolveProvider({ ...env, SPINE_MODEL: undefined }, wanted === undefined ? {} : { model: wanted });
        } catch (error) {
          if (error instanceof ConfigError) throw new ConfigError(`${error.message} ${OFFLINE_HINT}`);
          throw error;
        }
        providers.set(cacheKey, provider);
        onProvider(provider, agent);
      }
      return provider;
    },
    breaker(name) {
      let breaker = breakers.get(name);
      if (!breaker) {
        const seed = restoredSeed(name);
        breaker = seed ? CircuitBreaker.from(seed, breakerOptions) : new CircuitBreaker(name, breakerOptions);
        breakers.set(name, breaker);
      }
      return breaker;
    },
    breakers: () => breakers,
    restoreBreakers(states) {
      for (const state of states) breakers.set(state.name, CircuitBreaker.from(state, breakerOptions));
    },
  };
  trackEnvironment(environment);
  return environment;
}

/** Appended to every "no provider" message. */
export const OFFLINE_HINT =
  'To try Spine without a provider, run `npm start`: the offline demo runs on a scripted Chat Completions server (not a model).';

/** The provider family the environment configures, without resolving it (undefined: none configured). */
export function providerKindOf(env: Record<string, string | undefined>): ProviderKind | undefined {
  const hasOpenAi = Boolean(env['OPENAI_API_KEY']?.trim() || env['OPENAI_BASE_URL']?.trim());
  const hasAnthropic = Boolean(env['ANTHROPIC_API_KEY']?.trim());
  if (!hasOpenAi && !hasAnthropic) return undefined;
  const preferred = env['SPINE_PROVIDER']?.trim().toLowerCase();
  return hasAnthropic && (!hasOpenAi || preferred === 'anthropic') ? 'anthropic' : 'openai-compatible';
}

/**
 * The model id an agent asks for: `SPINE_MODEL_<AGENT>`, else `SPINE_MODEL`, else its choice for
 * the configured provider family. A custom `OPENAI_BASE_URL` gets no default (OpenAI's model names
 * mean nothing to Ollama or vLLM), so `resolveProvider` asks for `SPINE_MODEL`.
 */
export function agentModel(env: Record<string, string | undefined>, agent: string, choice: ModelChoice | undefined): string | undefined {
  const own = env[`SPINE_MODEL_${agent.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`]?.trim();
  if (own) return own;
  const global = env['SPINE_MODEL']?.trim();
  if (global) return global;
  if (choice === undefined || typeof choice === 'string') return choice;
  const kind = providerKindOf(env);
  if (kind === undefined) return undefined;
  if (kind === 'openai-compatible') {
    const url = env['OPENAI_BASE_URL']?.trim();
    if (url && !/^https:\/\/api\.openai\.com(\/|$)/.test(url)) return undefined;
  }
  return choice[kind];
}
