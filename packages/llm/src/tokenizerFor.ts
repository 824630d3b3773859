import { createRequire } from 'node:module';

/** The BPE encodings Spine counts with (gpt-tokenizer's names). */
export type EncodingName = 'o200k_base' | 'cl100k_base';

/** Counts the tokens of text the way one model family does (or approximates it, when `exact` is false). */
export interface Tokenizer {
  encoding: EncodingName;
  /** True when this is the model's own tokenizer; false for the fallback used for other families. */
  exact: boolean;
  count(text: string): number;
}

const require = createRequire(import.meta.url);
const encoders = new Map<EncodingName, (text: string) => number>();

// The encodings are several MB of ranks: loaded on first use (synchronously, from gpt-tokenizer's CommonJS build).
function counter(encoding: EncodingName): (text: string) => number {
  let count = encoders.get(encoding);
  if (!count) {
    const module = require(`gpt-tokenizer/cjs/encoding/${encoding}`) as { countTokens(text: string): number };
    count = (text: string) => (text ? module.countTokens(text) : 0);
    encoders.set(encoding, count);
  }
  return count;
}

/** OpenAI models on cl100k_base (GPT-4 before 4o, GPT-3.5, the v3 embeddings); every later OpenAI model is on o200k_base. */
const CL100K = /^(gpt-4(-\d{4}|-32k|-turbo|-vision|-\d{4}-preview|$)|gpt-3\.5|text-embedding-(3|ada))/;
const O200K = /^(gpt-4o|gpt-4\.\d|gpt-5|gpt-oss|chatgpt-|o\d(-|$)|codex-)/;

/**
 * The tokenizer of a model: OpenAI's own encoding for OpenAI models (o200k_base for GPT-4o, 4.1, 5,
 * o-series and gpt-oss; cl100k_base for GPT-4 and 3.5), counted with gpt-tokenizer.
 *
 * Fallback for every other family (Claude, Llama, Mistral, Gemini, unknown names): o200k_base with
 * `exact: false`. Their tokenizers are not public or not bundled; o200k is a modern byte-level BPE
 * that counts CJK text, code and JSON within some tens of percent of them, far closer than a
 * characters-per-token ratio.
 *
 * @example
 * ```ts
 * tokenizerFor('gpt-4o-mini').count('hello world'); // 2
 * tokenizerFor('claude-sonnet-4-5').exact;           // false
 * ```
 */
export function tokenizerFor(model: string | undefined): Tokenizer {
  const id = (model ?? '').slice((model ?? '').lastIndexOf('/') + 1).toLowerCase();
  const encoding: EncodingName = CL100K.test(id) ? 'cl100k_base' : 'o200k_base';
  const exact = CL100K.test(id) || O200K.test(id);
  return { encoding, exact, count: (text) => counter(encoding)(text) };
}
