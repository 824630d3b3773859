import { describe, expect, it } from 'vitest';
import { formatMachineJson, jsonEqual, parseJsonWithSpans } from './formatMachineJson.js';

const handWritten = `{
  "id": "writer",
  "initial": "idle",
  "states": {
    "idle": {
      "on": { "draft.requested": { "target": "drafting", "actions": "startDraft" } }
    },
    "drafting": {
      "invoke": { "id": "model", "src": "draft", "onDone": "done" }
    },
    "done": { "type": "final" }
  }
}
`;

describe('formatMachineJson', () => {
  it('writes 2-space JSON with a trailing newline when there is no previous text', () => {
    const value = { id: 'm', states: { a: { on: {} } }, tags: [] };
    expect(formatMachineJson(value)).toBe(`${JSON.stringify(value, null, 2)}\n`);
  });

  it('writes an unchanged machine back byte-identical, whatever its formatting', () => {
    for (const text of [handWritten, '{"id":"m","states":{}}', '{\n\t"id": "m"\n}', '  {"a": [1, 2, {"b": null}]}  \n\n']) {
      expect(formatMachineJson(JSON.parse(text), { previous: text })).toBe(text);
    }
  });

  it('keeps unchanged parts byte for byte and writes only the edit, one-line containers staying on one line', () => {
    const value = JSON.parse(handWritten);
    value.states.idle.on['draft.requested'].target = 'done';
    value.states.review = { on: { 'review.done': 'done' } };
    expect(formatMachineJson(value, { previous: handWritten })).toBe(`{
  "id": "writer",
  "initial": "idle",
  "states": {
    "idle": {
      "on": { "draft.requested": { "target": "done", "actions": "startDraft" } }
    },
    "drafting": {
      "invoke": { "id": "model", "src": "draft", "onDone": "done" }
    },
    "done": { "type": "final" },
    "review": {
      "on": {
        "review.done": "done"
      }
    }
  }
}
`);
  });

  it('keeps key order as given and drops undefined fields', () => {
    const text = formatMachineJson({ b: 1, a: { d: undefined, c: 2 } });
    expect(text).toBe('{\n  "b": 1,\n  "a": {\n    "c": 2\n  }\n}\n');
  });

  it('reuses the text of array items that moved', () => {
    const previous = '{ "on": [\n    {"target": "a"},\n    {"target":   "b"}\n  ] }';
    const value = { on: [{ target: 'b' }, { target: 'a' }] };
    const out = formatMachineJson(value, { previous });
    expect(out).toContain('{"target":   "b"}');
    expect(JSON.parse(out)).toEqual(value);
  });

  it('parses with spans exactly as JSON.parse does, and refuses what it refuses', () => {
    const text = '{"a": [1, -2.5e3, "x\\"y", true, null], "a": {"b": {}}}';
    const root = parseJsonWithSpans(text);
    expect(root.value).toEqual(JSON.parse(text));
    expect(() => parseJsonWithSpans('{"a": 1,}')).toThrow(SyntaxError);
    expect(() => parseJsonWithSpans('{"a": 1} x')).toThrow(SyntaxError);
  });

  it('compares JSON with key order', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { a: 1, b: [1, { c: 2 }] })).toBe(true);
    expect(jsonEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(false);
  });
});
