import { describe, expect, it } from 'vitest';
import { SpineError } from './errors.js';
import { decodeContext, decodeSnapshot, encodeSnapshot, encodeSnapshotParts, snapshotContext } from './snapshotCodec.js';

const snapshot = (context: unknown) => ({ status: 'active', value: 'a', context, children: {}, historyValue: {} });

describe('snapshot codec', () => {
  it('keeps undefined, NaN, ±Infinity, -0 and Date in context, at any depth, where JSON loses them', () => {
    const at = new Date('2026-01-02T03:04:05.006Z');
    const context = { gone: undefined, nan: Number.NaN, inf: Infinity, ninf: -Infinity, nzero: -0, at, list: [1, undefined, { deep: undefined }], nested: { when: at } };
    const decoded = decodeSnapshot(encodeSnapshot(snapshot(context))) as { context: Record<string, any> };
    expect(Object.hasOwn(decoded.context, 'gone')).toBe(true);
    expect(decoded.context.gone).toBeUndefined();
    expect(decoded.context.nan).toBeNaN();
    expect(decoded.context.inf).toBe(Infinity);
    expect(decoded.context.ninf).toBe(-Infinity);
    expect(Object.is(decoded.context.nzero, -0)).toBe(true);
    expect(decoded.context.at).toBeInstanceOf(Date);
    expect(decoded.context.at.getTime()).toBe(at.getTime());
    expect(decoded.context.nested.when).toEqual(at);
    expect(decoded.context.list).toEqual([1, undefined, { deep: undefined }]);
    expect(Object.hasOwn(decoded.context.list[2], 'deep')).toBe(true);
    expect(decoded).not.toHaveProperty('$spine');
  });

  it('stays plain JSON that a reader without the codec understands, with no extra key when nothing needs one', () => {
    const plain = encodeSnapshot(snapshot({ n: 1, s: 'x', list: [true, null] }));
    expect(JSON.parse(plain)).toEqual(snapshot({ n: 1, s: 'x', list: [true, null] }));
    const text = encodeSnapshot(snapshot({ n: 1, gone: undefined }));
    expect(JSON.parse(text).context).toEqual({ n: 1 });
    expect(snapshotContext(text)).toEqual({ n: 1, gone: undefined });
  });

  it('refuses a value it cannot keep exactly, naming its path', () => {
    class Money {
      cents = 1;
    }
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const cases: [unknown, RegExp][] = [
      [{ fn: () => 1 }, /context\.fn is a function/],
      [{ deep: { list: [0, 10n] } }, /context\.deep\.list\[1\] is a BigInt/],
      [{ m: new Map() }, /context\.m is an instance of Map/],
      [{ s: new Set([1]) }, /context\.s is an instance of Set/],
      [{ money: new Money() }, /context\.money is an instance of Money/],
      [{ sym: Symbol('x') }, /context\.sym is a symbol/],
      [{ 'odd key': { loop: cyclic } }, /context\["odd key"\]\.loop\.self is a reference back/],
    ];
    for (const [context, message] of cases) {
      let thrown: unknown;
      try {
        encodeSnapshot(snapshot(context));
      } catch (error) {
        thrown = error;
      }
      expect(SpineError.is(thrown) && thrown.code).toBe('not_persistable');
      expect((thrown as Error).message).toMatch(message);
    }
  });

  it('keeps the context apart with the same text as encodeSnapshot, and reads it back as decodeSnapshot does', () => {
    // The reference: the snapshot less a stale meta key, the meta key last, in one call.
    const reference = (persisted: Record<string, unknown>, meta: unknown) => {
      const { $spine: _stale, ...rest } = persisted;
      return JSON.stringify(meta === undefined ? rest : { ...rest, $spine: meta });
    };
    const at = new Date('2026-03-04T05:06:07.008Z');
    const cases: Record<string, unknown>[] = [
      snapshot({ n: 1, list: [1, 'two', null], nested: { deep: [{}] } }),
      snapshot({ gone: undefined, nan: Number.NaN, nzero: -0, at, inner: [undefined, { when: at }] }),
      { $spine: { values: 'stale' }, context: { a: 1 }, status: 'active', value: { p: 'q' }, dropped: undefined, fn: () => 1, children: { w: { src: 'work' } } },
      { context: { a: 1 }, '10': 'an integer key goes first', output: 'é😀 "quoted" \u2028' },
      { status: 'done', output: { toJSON: (key: string) => `written under ${key}` }, context: { a: 1 } },
      { context: -0 },
      { context: {} },
      Object.assign(Object.create({ inherited: 'left out' }) as Record<string, unknown>, { context: { a: undefined }, value: 'v' }),
    ];
    for (const persisted of cases) {
      const { text, context } = encodeSnapshotParts(persisted);
      expect(text).toBe(encodeSnapshot(persisted));
      const meta = (JSON.parse(text) as { $spine?: unknown }).$spine;
      expect(text).toBe(reference(persisted, meta));
      if (!context) throw new Error('every case has a context to keep apart');
      const expected = (decodeSnapshot(text) as { context: unknown }).context;
      const read = decodeContext(context);
      expect(read).toEqual(expected);
      expect(Object.is((read as { nzero?: unknown }).nzero, (expected as { nzero?: unknown }).nzero)).toBe(true);
      if (read && typeof read === 'object') expect(read).not.toBe(persisted.context); // a copy, as a restarted host reads it
    }
    // A snapshot that writes itself (its own toJSON) has no context apart: the text is whatever it wrote.
    const writesItself = { context: { a: 1 }, toJSON: () => ({ context: { a: 2 } }) };
    expect(encodeSnapshotParts(writesItself)).toEqual({ text: encodeSnapshot(writesItself) });
  });

  it('never lets a stale entry change a real value (a context edited without the codec)', () => {
    const text = encodeSnapshot(snapshot({ a: undefined, b: Number.NaN }));
    const edited = JSON.parse(text);
    edited.context = { a: 'set by hand', b: 5 };
    const decoded = decodeSnapshot(JSON.stringify(edited)) as { context: unknown };
    expect(decoded.context).toEqual({ a: 'set by hand', b: 5 });
  });
});
