import type { z } from 'zod';
import type { EvalCase, EvalRunView, ScoreInput, ScoreResult, Scorer, ScorerKind } from './defineEvalSuite.js';

/** Where a scorer reads the value it checks: a function of the run, or a dotted path into `{ output, context }`. */
export type Pick = string | ((run: EvalRunView) => unknown);

/** Where the expected value comes from: a key of `case.expected`, or `{ value }` for a literal. */
export type Expect = string | { value: unknown };

function pick(from: Pick, run: EvalRunView): unknown {
  if (typeof from === 'function') return from(run);
  let value: unknown = { output: run.output, context: run.context };
  for (const part of from.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function expectation(expect: Expect, c: EvalCase): { found: boolean; value: unknown } {
  if (typeof expect !== 'string') return { found: true, value: expect.value };
  const expected = c.expected ?? {};
  return Object.prototype.hasOwnProperty.call(expected, expect) ? { found: true, value: expected[expect] } : { found: false, value: undefined };
}

const skipped: ScoreResult = { value: 0, pass: true, skipped: true, detail: 'no expectation for this case' };

function textOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? '';
}

function make(name: string, kind: ScorerKind, online: boolean, score: Scorer['score']): Scorer {
  return { name, kind, online, score };
}

/**
 * Whether the run called the tools the case expects (`expected.tools`, each at least once) and
 * none it forbids (`expected.forbiddenTools`); a tool the agent was refused always counts as a
 * wrong choice. Its failures are the `tool_selection_error_rate`.
 */
export function expectedTools(options: { name?: string } = {}): Scorer {
  return make(options.name ?? 'tools', 'tool_selection', true, ({ case: c, run }) => {
    const called = new Set(run.calls.filter((call) => call.call === 'tool' && call.tool).map((call) => call.tool!));
    const wanted = (c.expected?.['tools'] as string[] | undefined) ?? [];
    const forbidden = (c.expected?.['forbiddenTools'] as string[] | undefined) ?? [];
    const problems = [
      ...wanted.filter((t) => !called.has(t)).map((t) => `did not call ${t}`),
      ...forbidden.filter((t) => called.has(t)).map((t) => `called forbidden ${t}`),
      ...run.refusedTools.map((t) => `asked for ${t}, which it is not granted`),
    ];
    if (!wanted.length && !forbidden.length && !run.refusedTools.length) return { ...skipped, detail: `called ${[...called].join(', ') || 'no tool'}` };
    return { value: problems.length ? 0 : 1, pass: problems.length === 0, detail: problems.join('; ') || `called ${[...called].join(', ')}` };
  });
}

/** Whether the value at `from` is valid against a zod schema (the first issue is the detail). */
export function schema(schemaOf: z.ZodType, options: { from?: Pick; name?: string } = {}): Scorer {
  return make(options.name ?? 'schema', 'schema', true, ({ run }) => {
    const parsed = schemaOf.safeParse(pick(options.from ?? 'output', run));
    if (parsed.success) return { value: 1, pass: true };
    const issue = parsed.error.issues[0]!;
    return { value: 0, pass: false, detail: `${issue.path.join('.') || '(root)'}: ${issue.message}` };
  });
}

/** Whether the value at `from` equals the expected one (deep, by canonical JSON). */
export function exact(from: Pick, expect: Expect, options: { name?: string } = {}): Scorer {
  return make(options.name ?? 'exact', 'match', typeof expect !== 'string', ({ case: c, run }) => {
    const e = expectation(expect, c);
    if (!e.found) return skipped;
    const got = pick(from, run);
    const ok = JSON.stringify(got) === JSON.stringify(e.value);
    return { value: ok ? 1 : 0, pass: ok, detail: ok ? undefined : `expected ${textOf(e.value)}, got ${textOf(got)}` };
  });
}

/** Whether the text at `from` contains the expected text (or every one of a list), ignoring case unless told. */
export function contains(from: Pick, expect: Expect, options: { name?: string; caseSensitive?: boolean } = {}): Scorer {
  return make(options.name ?? 'contains', 'match', typeof expect !== 'string', ({ case: c, run }) => {
    const e = expectation(expect, c);
    if (!e.found) return skipped;
    const fold = (s: string) => (options.caseSensitive ? s : s.toLowerCase());
    const text = fold(textOf(pick(from, run)));
    const wanted = (Array.isArray(e.value) ? e.value : [e.value]).map((v) => textOf(v));
    const missing = wanted.filter((w) => !text.includes(fold(w)));
    return { value: (wanted.length - missing.length) / Math.max(1, wanted.length), pass: missing.length === 0, detail: missing.length ? `missing ${missing.map((m) => JSON.stringify(m)).join(', ')}` : undefined };
  });
}

/** Whether the text at `from` matches a regular expression (a literal, or a pattern string in the case). */
export function regex(from: Pick, expect: Expect | RegExp, options: { name?: string } = {}): Scorer {
  const literal = expect instanceof RegExp ? { value: expect } : expect;
  return make(options.name ?? 'regex', 'match', typeof literal !== 'string', ({ case: c, run }) => {
    const e = expectation(literal, c);
    if (!e.found) return skipped;
    let pattern: RegExp;
    try {
      pattern = e.value instanceof RegExp ? e.value : new RegExp(String(e.value));
    } catch (error) {
      return { value: 0, pass: false, detail: `invalid pattern ${JSON.stringify(e.value)}: ${(error as Error).message}` };
    }
    const ok = pattern.test(textOf(pick(from, run)));
    return { value: ok ? 1 : 0, pass: ok, detail: ok ? undefined : `no match for ${pattern}` };
  });
}

/** Whether the number at `from` is within `tolerance` (absolute, default 0) of the expected number. */
export function numeric(from: Pick, expect: Expect, options: { name?: string; tolerance?: number } = {}): Scorer {
  const tolerance = options.tolerance ?? 0;
  return make(options.name ?? 'numeric', 'numeric', typeof expect !== 'string', ({ case: c, run }) => {
    const e = expectation(expect, c);
    if (!e.found) return skipped;
    const got = Number(pick(from, run));
    const want = Number(e.value);
    if (!Number.isFinite(got)) return { value: 0, pass: false, detail: `not a number: ${textOf(pick(from, run))}` };
    const ok = Math.abs(got - want) <= tolerance;
    return { value: ok ? 1 : 0, pass: ok, detail: ok ? undefined : `${got} is not within ${tolerance} of ${want}` };
  });
}

/** A scorer written in code: return a number in 0..1 (passes at `passAt`, default 1), a boolean, or a full result. */
export function custom(
  name: string,
  fn: (input: ScoreInput) => number | boolean | ScoreResult | Promise<number | boolean | ScoreResult>,
  options: { passAt?: number; online?: boolean } = {},
): Scorer {
  return make(name, 'custom', options.online ?? true, async (input) => {
    const result = await fn(input);
    if (typeof result === 'boolean') return { value: result ? 1 : 0, pass: result };
    if (typeof result === 'number') return { value: result, pass: result >= (options.passAt ?? 1) };
    return result;
  });
}

/**
 * LLM-as-judge: asks the suite's judge model to score `subject(run)` against a rubric, 0..10 with
 * its reasoning (the detail). Passes at `passAt` (default 7). The call goes through `@spine/llm`
 * (the configured provider, or the scripted server offline) and its tokens and cost count toward
 * the suite.
 */
export function judge(options: { rubric: readonly string[]; subject?: (run: EvalRunView) => unknown; name?: string; passAt?: number; model?: string }): Scorer {
  const name = options.name ?? 'judge';
  return make(name, 'judge', true, async ({ run, judge: ask }) => {
    if (run.status !== 'done') return { value: 0, pass: false, detail: `the run ended ${run.status}; nothing to judge` };
    const subject = options.subject ? options.subject(run) : run.output;
    const answer = await ask({ rubric: options.rubric, subject, key: `eval:${run.runId}:${name}`, ...(options.model ? { model: options.model } : {}) });
    return { value: answer.score, pass: answer.score >= (options.passAt ?? 7), detail: answer.reasoning, tokens: answer.tokens, costUsd: answer.costUsd };
  });
}

/** The scorers, for `scorers.judge(...)` style use in suite files. */
export const scorers = { expectedTools, schema, exact, contains, regex, numeric, custom, judge };
