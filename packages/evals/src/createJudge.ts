import { callStructured, costOf, totalTokens, type LlmEnvironment, type ModelChoice } from '@spine/llm';
import { z } from 'zod';
import type { JudgeClient } from './defineEvalSuite.js';

/** The judge's answer: a 0..10 score and why. */
export const judgeAnswer = z.object({ score: z.number().min(0).max(10), reasoning: z.string() });

/** The judge's system prompt opens with this marker (scripted servers match on it). */
export const JUDGE_SYSTEM =
  'You are the judge of an evaluation. Score the subject against every rule of the rubric, 0 (no rule holds) to 10 ' +
  '(every rule holds fully). Answer with JSON {"score": 0-10, "reasoning": "..."}: name each rule that does not hold.';

/** The judge's user message: the rubric, then the subject as JSON. */
export function judgePrompt(rubric: readonly string[], subject: unknown): string {
  return `Rubric:\n${rubric.map((r, i) => `${i + 1}. ${r}`).join('\n')}\n\nSubject:\n${JSON.stringify(subject, null, 2)}`;
}

/**
 * A judge that calls a model through `@spine/llm` (agent name `judge`: `SPINE_MODEL_JUDGE`,
 * then `SPINE_MODEL`, then `model`), with the structured-answer re-ask policy; returns the
 * score, the reasoning, and the tokens and cost of the call.
 */
export function createJudge(options: { llm: LlmEnvironment; model?: ModelChoice }): JudgeClient {
  const model: ModelChoice = options.model ?? { 'openai-compatible': 'gpt-4o-mini', anthropic: 'claude-haiku-4-5' };
  return async ({ rubric, subject, key, model: wanted }) => {
    const provider = options.llm.provider('judge', wanted ?? model);
    const result = await callStructured(
      { system: JUDGE_SYSTEM, messages: [{ role: 'user', content: judgePrompt(rubric, subject) }], schema: judgeAnswer, schemaName: 'judgement', maxOutputTokens: 400 },
      { provider, idempotencyKey: key, timeoutMs: options.llm.timeoutMs, policies: options.llm.policies, ...(options.llm.fetch ? { fetch: options.llm.fetch } : {}) },
    );
    return {
      score: result.object.score,
      reasoning: result.object.reasoning,
      tokens: totalTokens(result.usage),
      costUsd: costOf(result.model, result.usage, options.llm.prices()).usd,
    };
  };
}
