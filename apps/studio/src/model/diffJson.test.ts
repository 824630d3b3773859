import { describe, expect, it } from 'vitest';
import { diffJson } from './diffJson.js';

describe('diffJson', () => {
  it('lists added, removed and changed fields by path, arrays by index', () => {
    expect(diffJson({ a: 1, b: { c: [1, 2] }, gone: true }, { a: 2, b: { c: [1, 3, 4] }, added: 'x' })).toEqual([
      { path: 'a', kind: 'changed', before: 1, after: 2 },
      { path: 'b.c[1]', kind: 'changed', before: 2, after: 3 },
      { path: 'b.c[2]', kind: 'added', after: 4 },
      { path: 'gone', kind: 'removed', before: true },
      { path: 'added', kind: 'added', after: 'x' },
    ]);
    expect(diffJson({ a: [1] }, { a: [1] })).toEqual([]);
  });
});
