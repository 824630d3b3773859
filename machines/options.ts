import { createLlmEnvironment, type LlmEnvironment, type ModelChoice, type Tool } from '@spine/llm';
import { publishTool, searchTool } from './tools.js';

/**
 * What the pipeline's machines are built with. The defaults read the environment (provider,
 * prices, where to publish); tests pass a scripted provider, small back-off policies, their
 * own tools.
 */
export interface PipelineOptions {
  /** Model provider, prices, retry table, breakers (default: one environment per process, from `process.env`). */
  llm?: LlmEnvironment;
  /** The researcher's `search` tool (default: the local corpus, `searchTool()`). */
  search?: Tool;
  /** The supervisor's `publish` tool (default: `publishTool()`: POST to `SPINE_PUBLISH_URL`, else a file under `.spine/published/`). */
  publish?: Tool;
}

/** The model each agent asks for, per provider family (`SPINE_MODEL_<AGENT>` and `SPINE_MODEL` override). */
export const agentModels: Record<'researcher' | 'writer' | 'verifier', ModelChoice> = {
  researcher: { 'openai-compatible': 'gpt-4o-mini', anthropic: 'claude-haiku-4-5' },
  writer: { 'openai-compatible': 'gpt-4o', anthropic: 'claude-sonnet-4-5' },
  verifier: { 'openai-compatible': 'gpt-4o-mini', anthropic: 'claude-haiku-4-5' },
};

let shared: LlmEnvironment | undefined;

/** The environment the default machines share: created on first use, so `process.env` is read when a call is made. */
export function defaultLlm(): LlmEnvironment {
  return (shared ??= createLlmEnvironment());
}

/** Fills in the defaults. */
export function resolveOptions(options: PipelineOptions): { llm: () => LlmEnvironment; search: () => Tool; publish: () => Tool } {
  let search: Tool | undefined = options.search;
  let publish: Tool | undefined = options.publish;
  return {
    llm: options.llm ? () => options.llm! : defaultLlm,
    search: () => (search ??= searchTool()),
    publish: () => (publish ??= publishTool()),
  };
}
