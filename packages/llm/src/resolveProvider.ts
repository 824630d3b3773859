import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModel } from 'ai';
import { ConfigError } from './errors.js';

/** The provider families Spine speaks. */
export type ProviderKind = 'openai-compatible' | 'anthropic';

/** A `fetch` implementation, injectable for tests and proxies. */
export type FetchFunction = typeof globalThis.fetch;

/** An AI SDK language model object (not a model id string). */
export type LanguageModelInstance = Exclude<LanguageModel, string>;

/**
 * A resolved model provider. It holds no API key as a property: the key lives in the closure of
 * `languageModel`, so the config can be logged, journaled or sent to the studio as is.
 */
export interface ProviderConfig {
  kind: ProviderKind;
  /** A stable name for results, breakers and costs, e.g. `openai-compatible@localhost:11434`. */
  id: string;
  /** The endpoint, credentials stripped. */
  baseURL: string;
  /** The model used when a request does not name one. */
  model: string;
  /** Whether an API key is configured (never the key). */
  hasApiKey: boolean;
  /** What the CLI prints, e.g. "OpenAI-compatible endpoint at http://localhost:11434/v1, model llama3.2". */
  description: string;
  /** Creates the AI SDK model for a model id; the SDK's own retries are turned off by `callModel`. */
  languageModel(modelId: string, options?: { fetch?: FetchFunction }): LanguageModelInstance;
  /** Removes this provider's secrets from a text (error messages, logs). */
  redact(text: string): string;
}

/** Options of `resolveProvider`. */
export interface ResolveProviderOptions {
  /** The agent's model; `SPINE_MODEL` overrides it. */
  model?: string;
  /** Which provider wins when both are configured. Default: `SPINE_PROVIDER`, else OpenAI-compatible. */
  prefer?: ProviderKind;
  /** A `fetch` for every call of this provider (a call can still pass its own). */
  fetch?: FetchFunction;
}

const OPENAI_URL = 'https://api.openai.com/v1';
const ANTHROPIC_URL = 'https://api.anthropic.com/v1';
const DEFAULT_OPENAI_MODEL = 'gpt-4o-mini';
const DEFAULT_ANTHROPIC_MODEL = 'claude-sonnet-4-20250514';
const KEY_PATTERN = /\b(sk-[A-Za-z0-9_-]{8,})/g;

/**
 * Resolves the model provider from the environment: an OpenAI-compatible endpoint when
 * `OPENAI_BASE_URL` or `OPENAI_API_KEY` is set (OpenAI, Ollama, vLLM, llama.cpp, LM Studio), Anthropic
 * when `ANTHROPIC_API_KEY` is set; the model is the agent's (`options.model`) unless `SPINE_MODEL` is set.
 *
 * @throws ConfigError when no provider is configured, or a custom endpoint has no model.
 * @example
 * ```ts
 * const provider = resolveProvider(process.env, { model: 'gpt-4o-mini' });
 * console.log(provider.description); // "OpenAI-compatible endpoint at https://api.openai.com/v1, model gpt-4o-mini"
 * ```
 */
export function resolveProvider(
  env: Record<string, string | undefined> = process.env,
  options: ResolveProviderOptions = {},
): ProviderConfig {
  const openAiKey = nonEmpty(env['OPENAI_API_KEY']);
  const openAiUrl = nonEmpty(env['OPENAI_BASE_URL']);
  const anthropicKey = nonEmpty(env['ANTHROPIC_API_KEY']);
  const hasOpenAi = openAiKey !== undefined || openAiUrl !== undefined;
  const hasAnthropic = anthropicKey !== undefined;
  const preferred = options.prefer ?? parseKind(env['SPINE_PROVIDER']);
  const model = nonEmpty(env['SPINE_MODEL']) ?? options.model;

  const useAnthropic = hasAnthropic && (!hasOpenAi || preferred === 'anthropic');
  if (!hasOpenAi && !hasAnthropic) {
    throw new ConfigError(
      'No model provider is configured. Set OPENAI_BASE_URL (e.g. http://localhost:11434/v1 for Ollama) ' +
        'and/or OPENAI_API_KEY for an OpenAI-compatible endpoint, or ANTHROPIC_API_KEY for Anthropic.',
    );
  }

  if (useAnthropic) {
    const rawUrl = nonEmpty(env['ANTHROPIC_BASE_URL']) ?? ANTHROPIC_URL;
    return makeConfig({
      kind: 'anthropic',
      rawUrl,
      apiKey: anthropicKey,
      model: model ?? DEFAULT_ANTHROPIC_MODEL,
      label: 'Anthropic API',
      fetch: options.fetch,
    });
  }

  const rawUrl = openAiUrl ?? OPENAI_URL;
  const chosen = model ?? (openAiUrl === undefined ? DEFAULT_OPENAI_MODEL : undefined);
  if (chosen === undefined) {
    throw new ConfigError(
      `No model is chosen for the OpenAI-compatible endpoint at ${stripCredentials(rawUrl)}. ` +
        'Set SPINE_MODEL to a model that server serves (e.g. SPINE_MODEL=llama3.2 for Ollama).',
    );
  }
  return makeConfig({
    kind: 'openai-compatible',
    rawUrl,
    apiKey: openAiKey,
    model: chosen,
    label: 'OpenAI-compatible endpoint',
    fetch: options.fetch,
  });
}

function makeConfig(input: {
  kind: ProviderKind;
  rawUrl: string;
  apiKey: string | undefined;
  model: string;
  label: string;
  fetch: FetchFunction | undefined;
}): ProviderConfig {
  let url: URL;
  try {
    url = new URL(input.rawUrl);
  } catch {
    throw new ConfigError(
      `The ${input.kind === 'anthropic' ? 'ANTHROPIC_BASE_URL' : 'OPENAI_BASE_URL'} "${stripCredentials(input.rawUrl)}" ` +
        'is not a URL; expected something like http://localhost:11434/v1.',
    );
  }
  const secrets = [input.apiKey, url.password || undefined, url.username || undefined].filter(
    (s): s is string => s !== undefined && s.length >= 4,
  );
  const baseURL = stripCredentials(input.rawUrl).replace(/\/+$/, '');
  const redact = (text: string) => {
    let out = text;
    for (const secret of secrets) out = out.split(secret).join('[redacted]');
    return out.replace(KEY_PATTERN, 'sk-[redacted]');
  };
  // Basic-auth credentials in the URL move to a header, so they never show in URLs of errors.
  const basicAuth =
    url.username || url.password
      ? { Authorization: `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}` }
      : undefined;
  const { apiKey, kind } = input;
  const defaultFetch = input.fetch;

  const languageModel = (modelId: string, options: { fetch?: FetchFunction } = {}): LanguageModelInstance => {
    const fetch = options.fetch ?? defaultFetch;
    if (kind === 'anthropic') {
      return createAnthropic({
        baseURL,
        ...(apiKey === undefined ? {} : { apiKey }),
        ...(basicAuth === undefined ? {} : { headers: basicAuth }),
        ...(fetch === undefined ? {} : { fetch }),
      })(modelId);
    }
    return createOpenAICompatible({
      name: 'openai-compatible',
      baseURL,
      ...(apiKey === undefined ? {} : { apiKey }),
      ...(basicAuth === undefined || apiKey !== undefined ? {} : { headers: basicAuth }),
      ...(fetch === undefined ? {} : { fetch }),
      includeUsage: true,
      supportsStructuredOutputs: true,
    }).chatModel(modelId);
  };

  return {
    kind,
    id: `${kind}@${url.host}`,
    baseURL,
    model: input.model,
    hasApiKey: apiKey !== undefined,
    description: `${input.label} at ${baseURL}, model ${input.model}`,
    languageModel,
    redact,
  };
}

/** Removes `user:password@` from a URL-like string. */
function stripCredentials(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function parseKind(value: string | undefined): ProviderKind | undefined {
  const v = value?.trim().toLowerCase();
  if (v === 'anthropic') return 'anthropic';
  if (v === 'openai' || v === 'openai-compatible') return 'openai-compatible';
  return undefined;
}
