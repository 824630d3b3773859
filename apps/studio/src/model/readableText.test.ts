import { describe, expect, it } from 'vitest';
import { readableText } from './readableText.js';

describe('readableText', () => {
  it('shows a string as it is and an object as field lines, never as JSON', () => {
    expect(readableText('Three sources agree.')).toEqual(['Three sources agree.']);
    expect(readableText({ approved: true, score: 8, issues: ['tone', 'length'], meta: { lastCheck: 'ok' } })).toEqual([
      'approved: true',
      'score: 8',
      'issues: tone; length',
      'meta:',
      '  last check: ok',
    ]);
    expect(readableText({ issues: [] })).toEqual(['issues: none']);
  });
});
