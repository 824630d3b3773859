import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { agentModel, createLlmEnvironment, providerKindOf } from './LlmEnvironment.js';

const choice = { 'openai-compatible': 'gpt-4o', anthropic: 'claude-sonnet-4-5' };

describe('createLlmEnvironment', () => {
  it("uses the agent's model for the configured provider family", () => {
    expect(agentModel({ OPENAI_API_KEY: 'sk-test-0000000000' }, 'writer', choice)).toBe('gpt-4o');
    expect(agentModel({ ANTHROPIC_API_KEY: 'k' }, 'writer', choice)).toBe('claude-sonnet-4-5');
    expect(agentModel({ ANTHROPIC_API_KEY: 'k', OPENAI_API_KEY: 'o', SPINE_PROVIDER: 'anthropic' }, 'writer', choice)).toBe('claude-sonnet-4-5');
  });

  it('lets SPINE_MODEL_<AGENT> win over SPINE_MODEL, and SPINE_MODEL over the agent', () => {
    const env = { OPENAI_API_KEY: 'o', SPINE_MODEL: 'gpt-4.1-mini', SPINE_MODEL_WRITER: 'gpt-4.1' };
    expect(agentModel(env, 'writer', choice)).toBe('gpt-4.1');
    expect(agentModel(env, 'verifier', choice)).toBe('gpt-4.1-mini');
    const llm = createLlmEnvironment({ env, onProvider: () => {} });
    expect(llm.provider('writer', choice).model).toBe('gpt-4.1');
    expect(llm.provider('verifier', choice).model).toBe('gpt-4.1-mini');
  });

  it('asks for SPINE_MODEL with a custom OpenAI-compatible endpoint instead of sending it OpenAI model names', () => {
    const env = { OPENAI_BASE_URL: 'http://localhost:11434/v1' };
    expect(agentModel(env, 'writer', choice)).toBeUndefined();
    const llm = createLlmEnvironment({ env, onProvider: () => {} });
    expect(() => llm.provider('writer', choice)).toThrow(/Set SPINE_MODEL to a model that server serves/);
    expect(createLlmEnvironment({ env: { ...env, SPINE_MODEL: 'llama3.1' }, onProvider: () => {} }).provider('writer', choice).description).toBe(
      'OpenAI-compatible endpoint at http://localhost:11434/v1, model llama3.1',
    );
  });

  it('fails without a provider with a message that points at the offline demo', () => {
    expect(providerKindOf({})).toBeUndefined();
    const llm = createLlmEnvironment({ env: {}, onProvider: () => {} });
    let error: unknown;
    try {
      llm.provider('writer', choice);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/No model provider is configured.*run `npm start`: the offline demo runs on a scripted Chat Completions server \(not a model\)/);
  });

  it('announces each provider once per agent and model, and shares one breaker per name', () => {
    const seen: string[] = [];
    const llm = createLlmEnvironment({ env: { OPENAI_API_KEY: 'o' }, onProvider: (p, agent) => seen.push(`${agent}: ${p.description}`) });
    llm.provider('writer', choice);
    llm.provider('writer', choice);
    llm.provider('verifier', 'gpt-4o-mini');
    expect(seen).toEqual([
      'writer: OpenAI-compatible endpoint at https://api.openai.com/v1, model gpt-4o',
      'verifier: OpenAI-compatible endpoint at https://api.openai.com/v1, model gpt-4o-mini',
    ]);
    expect(llm.breaker('provider:x')).toBe(llm.breaker('provider:x'));
    expect([...llm.breakers().keys()]).toEqual(['provider:x']);
  });
});
