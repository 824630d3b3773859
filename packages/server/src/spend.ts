import type { JournalEntryJson, TokensJson } from './protocol.js';

/** Spend read from one journal entry; zero when the entry records none. */
export interface Spend {
  tokens: TokensJson;
  costUsd: number;
  model: string | undefined;
  /** The model, when the entry says it has no price (`unpriced`): its cost is unknown, not 0. */
  unpriced: string | undefined;
}

const INPUT_KEYS = ['inputTokens', 'input', 'promptTokens', 'prompt_tokens', 'input_tokens'];
const OUTPUT_KEYS = ['outputTokens', 'output', 'completionTokens', 'completion_tokens', 'output_tokens'];

/**
 * Reads what an activity attempt spent from its journal entry: `usage`
 * (`{ inputTokens, outputTokens }`, or the OpenAI / Anthropic field names),
 * `costUsd` and `model`, as recorded through `ActivityContext.record`.
 */
export function spendOf(entry: JournalEntryJson): Spend {
  const usage = entry.usage;
  let input = 0;
  let output = 0;
  if (usage && typeof usage === 'object') {
    input = firstNumber(usage as Record<string, unknown>, INPUT_KEYS);
    output = firstNumber(usage as Record<string, unknown>, OUTPUT_KEYS);
  }
  const cost = typeof entry.costUsd === 'number' && Number.isFinite(entry.costUsd) ? entry.costUsd : 0;
  const model = typeof entry.model === 'string' ? entry.model : undefined;
  const noPrice = entry.unpriced && typeof entry.unpriced === 'object' ? (entry.unpriced as { model?: unknown }).model : undefined;
  return { tokens: { input, output, total: input + output }, costUsd: cost, model, unpriced: typeof noPrice === 'string' ? noPrice : undefined };
}

/** Sums spend over journal entries. */
export function sumSpend(entries: readonly JournalEntryJson[]): { tokens: TokensJson; costUsd: number; models: string[]; unpriced: string[] } {
  const tokens = zeroTokens();
  let costUsd = 0;
  const models = new Set<string>();
  const unpriced = new Set<string>();
  for (const entry of entries) {
    const spend = spendOf(entry);
    addTokens(tokens, spend.tokens);
    costUsd += spend.costUsd;
    if (spend.model) models.add(spend.model);
    if (spend.unpriced) unpriced.add(spend.unpriced);
  }
  return { tokens, costUsd, models: [...models], unpriced: [...unpriced] };
}

/** A fresh zero token count. */
export function zeroTokens(): TokensJson {
  return { input: 0, output: 0, total: 0 };
}

/** Adds `b` into `a`. */
export function addTokens(a: TokensJson, b: TokensJson): void {
  a.input += b.input;
  a.output += b.output;
  a.total += b.total;
}

/** Parses a journal column; a corrupt one reads as empty rather than failing a listing. */
export function parseJournal(json: string): JournalEntryJson[] {
  try {
    const value = JSON.parse(json) as unknown;
    return Array.isArray(value) ? (value.filter((e) => e && typeof e === 'object') as JournalEntryJson[]) : [];
  } catch {
    return [];
  }
}

function firstNumber(record: Record<string, unknown>, keys: string[]): number {
  for (const key of keys) {
    const value = record[key];
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return 0;
}
