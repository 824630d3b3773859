import { z } from 'zod';
import { faultKinds } from './faults.js';
import { assertScript, type Script, type TextMatch } from './Script.js';
import { ScriptedModelError } from './ScriptedModelError.js';

const regexLiteral = /^\/(.+)\/([dgimsuvy]*)$/s;

const textMatch = z.string().transform((text, ctx): TextMatch => {
  const literal = regexLiteral.exec(text);
  if (literal === null) return text;
  try {
    return new RegExp(literal[1] as string, literal[2]);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `invalid regular expression ${text}: ${(error as Error).message}` });
    return z.NEVER;
  }
});

const count = z.number().int().nonnegative();

const jsonRule = z.strictObject({
  comment: z.string().optional(),
  match: z
    .strictObject({
      model: z.string().optional(),
      system: textMatch.optional(),
      lastUser: textMatch.optional(),
      hasTools: z.boolean().optional(),
      hasResponseFormat: z.boolean().optional(),
      toolResultFor: z.string().optional(),
    })
    .optional(),
  times: z.number().int().positive().optional(),
  reply: z
    .strictObject({
      content: z.string().optional(),
      json: z.unknown().optional(),
      toolCalls: z
        .array(z.strictObject({ name: z.string().min(1), arguments: z.unknown(), id: z.string().optional() }))
        .optional(),
      finishReason: z.string().optional(),
      usage: z
        .strictObject({
          prompt_tokens: count.optional(),
          completion_tokens: count.optional(),
          total_tokens: count.optional(),
          cached_tokens: count.optional(),
        })
        .optional(),
    })
    .optional(),
  fault: z
    .strictObject({
      kind: z.enum(faultKinds),
      retryAfterSeconds: z.number().nonnegative().optional(),
      message: z.string().optional(),
      partial: z.string().optional(),
    })
    .optional(),
});

/**
 * Turns a script written as JSON (e.g. a file for the CLI) into a {@link Script}: a text match
 * written `"/pattern/flags"` becomes a RegExp, any other string matches as a substring, and rules
 * may carry a `comment`; throws a {@link ScriptedModelError} naming the first problem.
 */
export function parseScript(json: unknown): Script {
  const parsed = z.array(jsonRule).safeParse(json);
  if (!parsed.success) {
    throw new ScriptedModelError('invalid_script', `Invalid JSON script:\n${z.prettifyError(parsed.error)}`, { cause: parsed.error });
  }
  const script: Script = parsed.data.map(({ comment: _comment, ...rule }) => rule);
  assertScript(script);
  return script;
}
