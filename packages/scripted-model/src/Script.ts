import { lastToolResultName, lastUserText, systemText, type ChatRequest } from './ChatRequest.js';
import { assertFault, type Fault } from './faults.js';
import { ScriptedModelError } from './ScriptedModelError.js';
import { assertReply, type ScriptedReply } from './ScriptedReply.js';

/** Matches text: a string matches when it is a substring, a RegExp when it finds a match. */
export type TextMatch = string | RegExp;

/** What a request must look like for a rule to apply; every field given must fit, and no fields fit every request. */
export interface RuleMatch {
  /** The request's `model`, exactly. */
  model?: string;
  /** The system (and developer) messages' text, joined by newlines. */
  system?: TextMatch;
  /** The text of the last user message. */
  lastUser?: TextMatch;
  /** Whether the request offers tools. */
  hasTools?: boolean;
  /** Whether the request sets a `json_object` or `json_schema` response format. */
  hasResponseFormat?: boolean;
  /** The last message is the result of a call to the tool of this name. */
  toolResultFor?: string;
}

/** Computes the answer to a request in code; it may be async, e.g. to hold a request until a test lets it go. */
export type Responder = (request: ChatRequest) => ScriptedReply | Fault | Promise<ScriptedReply | Fault>;

/** One rule of a script: when `match` fits, answer with exactly one of `reply`, `fault` or `respond`. */
export interface ScriptRule {
  match?: RuleMatch;
  /** How many requests the rule answers before it is used up (default: unlimited). */
  times?: number;
  reply?: ScriptedReply;
  fault?: Fault;
  respond?: Responder;
}

/** An ordered list of rules; each request is answered by the first rule that matches and is not used up. */
export type Script = readonly ScriptRule[];

/** Throws a {@link ScriptedModelError} naming the first rule that is malformed. */
export function assertScript(script: unknown): asserts script is Script {
  if (!Array.isArray(script)) {
    throw new ScriptedModelError('invalid_script', 'A script is an array of rules, e.g. [{ match: { lastUser: "hi" }, reply: { content: "hello" } }].');
  }
  script.forEach((rule: unknown, i) => {
    const where = `Script rule ${i}`;
    if (typeof rule !== 'object' || rule === null) throw new ScriptedModelError('invalid_script', `${where} is not an object.`);
    const r = rule as Record<string, unknown>;
    const answers = (['reply', 'fault', 'respond'] as const).filter((k) => r[k] !== undefined);
    if (answers.length !== 1) {
      throw new ScriptedModelError(
        'invalid_script',
        `${where} gives ${answers.length === 0 ? 'no answer' : answers.join(' and ')}; give exactly one of reply, fault or respond.`,
      );
    }
    if (r.times !== undefined && !(Number.isInteger(r.times) && (r.times as number) > 0)) {
      throw new ScriptedModelError('invalid_script', `${where}.times must be a positive integer, got ${String(r.times)}.`);
    }
    if (r.reply !== undefined) assertReply(r.reply, `${where}.reply`);
    if (r.fault !== undefined) assertFault(r.fault, `${where}.fault`);
    if (r.respond !== undefined && typeof r.respond !== 'function') {
      throw new ScriptedModelError('invalid_script', `${where}.respond must be a function.`);
    }
    if (r.match !== undefined) assertMatch(r.match, `${where}.match`);
  });
}

const matchFields: Record<keyof RuleMatch, (value: unknown) => boolean> = {
  model: (v) => typeof v === 'string',
  system: (v) => typeof v === 'string' || v instanceof RegExp,
  lastUser: (v) => typeof v === 'string' || v instanceof RegExp,
  hasTools: (v) => typeof v === 'boolean',
  hasResponseFormat: (v) => typeof v === 'boolean',
  toolResultFor: (v) => typeof v === 'string',
};

// A misspelt field would otherwise be ignored and make the rule match every request.
function assertMatch(match: unknown, where: string): void {
  if (typeof match !== 'object' || match === null) throw new ScriptedModelError('invalid_script', `${where} must be an object.`);
  for (const [field, value] of Object.entries(match)) {
    const valid = matchFields[field as keyof RuleMatch];
    if (valid === undefined) {
      throw new ScriptedModelError('invalid_script', `${where}.${field} is not a match field; use ${Object.keys(matchFields).join(', ')}.`);
    }
    if (value !== undefined && !valid(value)) {
      throw new ScriptedModelError('invalid_script', `${where}.${field} has the wrong type (${typeof value}).`);
    }
  }
}

function fits(text: string | undefined, match: TextMatch | undefined): boolean {
  if (match === undefined) return true;
  if (text === undefined) return false;
  // `search` ignores `lastIndex`, so a /g regex matches the same way every time.
  return typeof match === 'string' ? text.includes(match) : text.search(match) !== -1;
}

/** True when `request` fits every field of `match`. */
export function matchesRule(match: RuleMatch | undefined, request: ChatRequest): boolean {
  if (match === undefined) return true;
  const hasTools = (request.tools?.length ?? 0) > 0;
  const hasResponseFormat = request.response_format != null && request.response_format.type !== 'text';
  return (
    (match.model === undefined || match.model === request.model) &&
    fits(systemText(request), match.system) &&
    fits(lastUserText(request), match.lastUser) &&
    (match.hasTools === undefined || match.hasTools === hasTools) &&
    (match.hasResponseFormat === undefined || match.hasResponseFormat === hasResponseFormat) &&
    (match.toolResultFor === undefined || match.toolResultFor === lastToolResultName(request))
  );
}

/** A script being played: picks the rule for each request and counts down rules with `times`. */
export class ScriptPlayer {
  private readonly remaining: (number | undefined)[];

  /** Validates `script`, throwing a {@link ScriptedModelError} when it is malformed. */
  constructor(readonly script: Script) {
    assertScript(script);
    this.remaining = script.map((rule) => rule.times);
  }

  /** Returns the first matching rule that is not used up, using it once, or undefined when none fits. */
  next(request: ChatRequest): ScriptRule | undefined {
    const index = this.script.findIndex((rule, i) => this.remaining[i] !== 0 && matchesRule(rule.match, request));
    if (index === -1) return undefined;
    const left = this.remaining[index];
    if (left !== undefined) this.remaining[index] = left - 1;
    return this.script[index];
  }

  /** The index of the first used-up rule that would match `request`, to explain why nothing answered it. */
  usedUpMatch(request: ChatRequest): number | undefined {
    const index = this.script.findIndex((rule, i) => this.remaining[i] === 0 && matchesRule(rule.match, request));
    return index === -1 ? undefined : index;
  }

  /** The model names the script's rules ask for, in order, without repeats. */
  models(): string[] {
    return [...new Set(this.script.flatMap((rule) => (rule.match?.model === undefined ? [] : [rule.match.model])))];
  }
}
