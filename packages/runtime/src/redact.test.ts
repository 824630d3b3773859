import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor, redactingStore } from './redact.js';

const SECRET = 'sk-test-redact-0123456789';

describe('Redactor.value', () => {
  const redactor = new Redactor([SECRET]);

  it('gives back the value itself when nothing in it holds a secret (nothing is copied)', () => {
    const commit = Object.freeze({ snapshot: '{"value":"s1"}', jobs: [{ key: 'a:1:0', input: '{"q":"weather"}' }], history: { event: '{"type":"go"}', seq: 2 } });
    expect(redactor.value(commit)).toBe(commit);
    expect(redactor.value('plain text')).toBe('plain text');
    expect(redactor.value(null)).toBe(null);
  });

  it('copies what holds a secret, in a string deep inside or in a key, and leaves the original as it was', () => {
    const value = { jobs: [{ key: 'a:1:0', input: `{"apiKey":"${SECRET}"}` }], n: 3, when: new Date(0), [SECRET]: true };
    const redacted = redactor.value(value);
    expect(redacted).not.toBe(value);
    expect(redacted.jobs[0]!.input).toBe(`{"apiKey":"${REDACTED}"}`);
    expect(Object.keys(redacted)).toEqual(['jobs', 'n', 'when', REDACTED]);
    expect(redacted.when).toBe(value.when); // not a plain object: kept as it is
    expect(value.jobs[0]!.input).toContain(SECRET);
    expect(JSON.stringify(redacted)).not.toContain(SECRET);
  });

  it('finds a secret as JSON text writes it (escaped), as the copy replaces it', () => {
    const quoted = new Redactor(['pass"word\\1234']);
    const text = JSON.stringify({ password: 'pass"word\\1234' });
    expect(quoted.value({ text })).toEqual({ text: `{"password":"${REDACTED}"}` });
  });
});

class FakeStore {
  readonly path = '/tmp/fake.db';
  readonly written: unknown[][] = [];
  readonly #rows = new Map<string, string>([['a', `row with ${SECRET}`]]);

  async getActor(id: string): Promise<string | undefined> {
    return this.#rows.get(id);
  }

  async commitBatch(...args: unknown[]): Promise<number> {
    this.written.push(args);
    return this.written.length;
  }
}

describe('redactingStore', () => {
  it('is the store itself when there is no secret', () => {
    const store = new FakeStore();
    expect(redactingStore(store, new Redactor([]))).toBe(store);
  });

  it("redacts the arguments of writes, passes reads through with the store as `this`, reads its other properties, and calls the store's method of the moment", async () => {
    const store = new FakeStore();
    const wrapped = redactingStore(store, new Redactor([SECRET]));
    expect(wrapped).toBeInstanceOf(FakeStore);
    expect(wrapped.path).toBe('/tmp/fake.db');
    await expect(wrapped.getActor('a')).resolves.toBe(`row with ${SECRET}`); // a read: as stored (private field reached)
    await expect(wrapped.commitBatch([{ output: `{"token":"${SECRET}"}` }], 'plain')).resolves.toBe(1);
    expect(store.written).toEqual([[[{ output: `{"token":"${REDACTED}"}` }], 'plain']]);
    expect(wrapped.commitBatch).toBe(wrapped.commitBatch); // one function per method, not one per look-up
    const replaced: unknown[] = [];
    store.commitBatch = async (...args: unknown[]) => replaced.push(args);
    await wrapped.commitBatch(`again ${SECRET}`);
    expect(replaced).toEqual([[`again ${REDACTED}`]]);
  });
});
