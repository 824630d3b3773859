import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { resolveProvider } from './resolveProvider.js';

const KEY = 'sk-test-SECRET-0123456789abcdef';

describe('resolveProvider', () => {
  it('uses OpenAI when only OPENAI_API_KEY is set, with a default model', () => {
    const provider = resolveProvider({ OPENAI_API_KEY: KEY });
    expect(provider).toMatchObject({ kind: 'openai-compatible', baseURL: 'https://api.openai.com/v1', model: 'gpt-4o-mini', hasApiKey: true });
    expect(provider.description).toBe('OpenAI-compatible endpoint at https://api.openai.com/v1, model gpt-4o-mini');
  });

  it('uses a local OpenAI-compatible server from OPENAI_BASE_URL without a key', () => {
    const provider = resolveProvider({ OPENAI_BASE_URL: 'http://localhost:11434/v1/' }, { model: 'llama3.2' });
    expect(provider).toMatchObject({ kind: 'openai-compatible', baseURL: 'http://localhost:11434/v1', hasApiKey: false, id: 'openai-compatible@localhost:11434' });
    expect(provider.description).toBe('OpenAI-compatible endpoint at http://localhost:11434/v1, model llama3.2');
  });

  it("lets SPINE_MODEL override the agent's model", () => {
    expect(resolveProvider({ OPENAI_API_KEY: KEY, SPINE_MODEL: 'gpt-4.1' }, { model: 'gpt-4o-mini' }).model).toBe('gpt-4.1');
  });

  it('uses Anthropic when only ANTHROPIC_API_KEY is set', () => {
    const provider = resolveProvider({ ANTHROPIC_API_KEY: KEY }, { model: 'claude-3-5-haiku-latest' });
    expect(provider).toMatchObject({ kind: 'anthropic', baseURL: 'https://api.anthropic.com/v1', model: 'claude-3-5-haiku-latest' });
    expect(provider.description).toBe('Anthropic API at https://api.anthropic.com/v1, model claude-3-5-haiku-latest');
  });

  it('prefers the OpenAI-compatible endpoint when both are set, unless told otherwise', () => {
    const env = { OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1', ANTHROPIC_API_KEY: KEY, SPINE_MODEL: 'm' };
    expect(resolveProvider(env).kind).toBe('openai-compatible');
    expect(resolveProvider(env, { prefer: 'anthropic' }).kind).toBe('anthropic');
    expect(resolveProvider({ ...env, SPINE_PROVIDER: 'anthropic' }).kind).toBe('anthropic');
  });

  it('refuses to guess when nothing is configured, saying what to set', () => {
    expect(() => resolveProvider({})).toThrow(ConfigError);
    expect(() => resolveProvider({})).toThrow(/OPENAI_BASE_URL.*ANTHROPIC_API_KEY/s);
  });

  it('asks for SPINE_MODEL when a custom endpoint has no model', () => {
    expect(() => resolveProvider({ OPENAI_BASE_URL: 'http://localhost:11434/v1' })).toThrow(/SPINE_MODEL/);
  });

  it('refuses a base URL that is not a URL', () => {
    expect(() => resolveProvider({ OPENAI_BASE_URL: 'localhost 11434', SPINE_MODEL: 'm' })).toThrow(/not a URL/);
  });

  it('never shows an API key in the config, its description, its JSON or its inspection', () => {
    for (const env of [{ OPENAI_API_KEY: KEY }, { ANTHROPIC_API_KEY: KEY }]) {
      const provider = resolveProvider(env);
      expect(JSON.stringify(provider)).not.toContain('SECRET');
      expect(inspect(provider, { depth: 10, showHidden: true })).not.toContain('SECRET');
      expect(provider.description).not.toContain('SECRET');
    }
  });

  it('strips credentials from a base URL and redacts them', () => {
    const provider = resolveProvider({ OPENAI_BASE_URL: 'https://user:hunter2pass@proxy.example/v1', SPINE_MODEL: 'm' });
    expect(provider.baseURL).toBe('https://proxy.example/v1');
    expect(provider.description).not.toContain('hunter2pass');
    expect(provider.redact('auth failed for hunter2pass')).toBe('auth failed for [redacted]');
  });

  it('redacts its API key and key-shaped strings from any text', () => {
    const provider = resolveProvider({ OPENAI_API_KEY: KEY });
    expect(provider.redact(`Incorrect API key provided: ${KEY}.`)).toBe('Incorrect API key provided: [redacted].');
    expect(provider.redact('key sk-proj-abcdefghijklmnop leaked')).toBe('key sk-[redacted] leaked');
  });

  it('builds AI SDK models with the provider family it names', () => {
    expect(resolveProvider({ OPENAI_API_KEY: KEY }).languageModel('gpt-4o').provider).toBe('openai-compatible.chat');
    expect(resolveProvider({ ANTHROPIC_API_KEY: KEY }).languageModel('claude-sonnet-4-0').provider).toBe('anthropic.messages');
  });
});
