import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { EvalCase, EvalRunView, JudgeClient, ScoreInput } from './defineEvalSuite.js';
import { parseDataset } from './loadDataset.js';
import { inSample } from './scoreOnline.js';
import { scorers } from './scorers.js';

const run = (over: Partial<EvalRunView> = {}): EvalRunView => ({
  runId: 'r1',
  status: 'done',
  output: { status: 'published', title: 'Rate limits: a report', score: 7.2 },
  context: { draft: { body: 'Text (source: a.md).' } },
  error: undefined,
  calls: [{ call: 'tool', tool: 'search' } as EvalRunView['calls'][number]],
  refusedTools: [],
  tokens: 10,
  costUsd: 0,
  ...over,
});
const noJudge: JudgeClient = async () => {
  throw new Error('no judge here');
};
const input = (c: Partial<EvalCase>, r = run(), judge = noJudge): ScoreInput => ({ case: { id: 'c', input: null, ...c }, run: r, judge });

describe('scorers', () => {
  it('expectedTools fails a missing, a forbidden and a refused tool, and skips a case that expects none', async () => {
    const tools = scorers.expectedTools();
    expect(await tools.score(input({ expected: { tools: ['search'] } }))).toMatchObject({ pass: true, value: 1 });
    expect(await tools.score(input({ expected: { tools: ['search', 'fetch'] } }))).toMatchObject({ pass: false, detail: 'did not call fetch' });
    expect(await tools.score(input({ expected: { forbiddenTools: ['search'] } }))).toMatchObject({ pass: false, detail: 'called forbidden search' });
    expect(await tools.score(input({}, run({ refusedTools: ['publish'] })))).toMatchObject({ pass: false, detail: 'asked for publish, which it is not granted' });
    expect(await tools.score(input({}))).toMatchObject({ skipped: true });
  });

  it('schema names the first failing field', async () => {
    const s = scorers.schema(z.object({ status: z.literal('published'), title: z.number() }));
    expect(await s.score(input({}))).toMatchObject({ pass: false, detail: 'title: Invalid input: expected number, received string' });
  });

  it('exact, contains, regex and numeric compare against the case, a literal, or skip', async () => {
    expect(await scorers.exact('output.status', 'status').score(input({ expected: { status: 'published' } }))).toMatchObject({ pass: true });
    expect(await scorers.exact('output.status', 'status').score(input({ expected: { status: 'rejected' } }))).toMatchObject({ pass: false, detail: 'expected rejected, got published' });
    expect(await scorers.exact('output.status', 'status').score(input({}))).toMatchObject({ skipped: true });
    expect(await scorers.contains('output.title', 'title').score(input({ expected: { title: ['RATE', 'limits', 'cost'] } }))).toMatchObject({ pass: false, value: 2 / 3, detail: 'missing "cost"' });
    expect(await scorers.regex('context.draft.body', /\(source: \w+\.md\)/).score(input({}))).toMatchObject({ pass: true });
    expect(await scorers.regex('context.draft.body', 'pattern').score(input({ expected: { pattern: '(' } }))).toMatchObject({ pass: false });
    expect(await scorers.numeric('output.score', { value: 7 }, { tolerance: 0.5 }).score(input({}))).toMatchObject({ pass: true });
    expect(await scorers.numeric('output.score', { value: 8 }, { tolerance: 0.5 }).score(input({}))).toMatchObject({ pass: false, detail: '7.2 is not within 0.5 of 8' });
  });

  it('a path never reads inherited properties', async () => {
    expect(await scorers.exact('output.constructor', { value: null }).score(input({}))).toMatchObject({ pass: false, detail: 'expected null, got ' });
  });

  it('judge passes at its threshold, reports the judge call cost, and does not judge a failed run', async () => {
    const judge: JudgeClient = async ({ rubric, key }) => ({ score: rubric.length * 3, reasoning: `judged ${key}`, tokens: 42, costUsd: 0.001 });
    const j = scorers.judge({ rubric: ['a', 'b', 'c'], passAt: 9 });
    expect(await j.score(input({}, run(), judge))).toEqual({ value: 9, pass: true, detail: 'judged eval:r1:judge', tokens: 42, costUsd: 0.001 });
    expect(await j.score(input({}, run({ status: 'error' }), judge))).toMatchObject({ pass: false, value: 0 });
  });
});

describe('parseDataset', () => {
  it('reads one case per line and names the line of a bad one', () => {
    expect(parseDataset('{"id":"a","input":1}\n\n{"id":"b","input":2,"expected":{"x":1}}\n', 'd.jsonl')).toHaveLength(2);
    expect(() => parseDataset('{"id":"a","input":1}\n{"id":"a b"}', 'd.jsonl')).toThrow(/^d\.jsonl:2: id: an id is 1-64 letters/);
    expect(() => parseDataset('{"id":"a"}\n{oops', 'd.jsonl')).toThrow(/^d\.jsonl:2 is not valid JSON/);
    expect(() => parseDataset('{"id":"a"}\n{"id":"a"}', 'd.jsonl')).toThrow("d.jsonl:2: case id 'a' appears twice");
    expect(() => parseDataset('\n', 'd.jsonl')).toThrow('d.jsonl has no cases');
  });
});

describe('inSample', () => {
  it('draws about the given share of runs, the same ones every time', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `run-${i}`);
    const picked = ids.filter((id) => inSample(id, 0.1));
    expect(picked.length).toBeGreaterThan(150);
    expect(picked.length).toBeLessThan(250);
    expect(ids.filter((id) => inSample(id, 0.1))).toEqual(picked);
  });
});
