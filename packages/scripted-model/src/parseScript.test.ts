import { describe, expect, it } from 'vitest';
import { parseScript } from './parseScript.js';
import { ScriptedModelError } from './ScriptedModelError.js';

describe('parseScript', () => {
  it('turns "/pattern/flags" strings into regexes and keeps other strings as substrings', () => {
    const [rule] = parseScript([{ match: { lastUser: '/^hello\\b/i', system: 'terse' }, reply: { content: 'hi' } }]);
    expect(rule?.match?.lastUser).toEqual(/^hello\b/i);
    expect(rule?.match?.system).toBe('terse');
  });

  it('accepts faults, tool calls, json replies, times and comments', () => {
    const script = parseScript([
      { comment: 'first call is rate limited', times: 1, fault: { kind: 'rate_limit', retryAfterSeconds: 2 } },
      { match: { hasTools: true }, reply: { toolCalls: [{ name: 'search', arguments: { q: 'x' } }] } },
      { match: { hasResponseFormat: true }, reply: { json: { ok: true }, usage: { prompt_tokens: 10 } } },
    ]);
    expect(script).toEqual([
      { times: 1, fault: { kind: 'rate_limit', retryAfterSeconds: 2 } },
      { match: { hasTools: true }, reply: { toolCalls: [{ name: 'search', arguments: { q: 'x' } }] } },
      { match: { hasResponseFormat: true }, reply: { json: { ok: true }, usage: { prompt_tokens: 10 } } },
    ]);
  });

  it('names the rule and field of a mistake', () => {
    const error = (() => {
      try {
        parseScript([{ reply: { content: 'ok' } }, { fault: { kind: 'explode' } }]);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ScriptedModelError);
    expect((error as ScriptedModelError).code).toBe('invalid_script');
    expect((error as Error).message).toMatch(/\[1\]\.fault\.kind/);
  });

  it('refuses unknown fields, bad regexes and rules without exactly one answer', () => {
    expect(() => parseScript([{ match: { lastuser: 'typo' }, reply: { content: 'x' } }])).toThrow(/lastuser/);
    expect(() => parseScript([{ match: { lastUser: '/(unclosed/' }, reply: { content: 'x' } }])).toThrow(/invalid regular expression/);
    expect(() => parseScript([{ match: { lastUser: 'x' } }])).toThrow(/Script rule 0 gives no answer/);
    expect(() => parseScript({ rules: [] })).toThrow(ScriptedModelError);
  });
});
