import { describe, expect, it } from 'vitest';
import { SpineError } from './errors.js';
import { foundCorrupt, latchStorageErrors } from './storageFailures.js';

class FakeDriverError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

class Store {
  calls = 0;
  read(code?: string): Promise<number> {
    this.calls++;
    return code ? Promise.reject(new FakeDriverError(code)) : Promise.resolve(this.calls);
  }
  readSync(code?: string): number {
    if (code) throw new FakeDriverError(code);
    return 1;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
const corrupted: object[] = [];
latchStorageErrors(Store, {
  toStorageError: (_self, error) => (error instanceof FakeDriverError && error.code !== 'OTHER' ? new SpineError(error.code === 'BAD' ? 'storage_corrupt' : 'storage_busy', `classified ${error.code}`) : error),
  onCorrupt: (self) => corrupted.push(self),
});

describe('a store class whose methods report storage failures', () => {
  it('turns a driver error into the classified SpineError, sync or async, and passes other errors through', async () => {
    const store = new Store();
    await expect(store.read('BUSY')).rejects.toMatchObject({ code: 'storage_busy' });
    expect(() => store.readSync('BUSY')).toThrow(expect.objectContaining({ code: 'storage_busy' }));
    await expect(store.read('OTHER')).rejects.toBeInstanceOf(FakeDriverError);
    expect(await store.read()).toBe(3);
    expect(foundCorrupt(store)).toBe(false);
  });

  it('refuses every call but close after the first corruption, and tells the store once', async () => {
    const store = new Store();
    await expect(store.read('BAD')).rejects.toMatchObject({ code: 'storage_corrupt' });
    await expect(store.read()).rejects.toMatchObject({ code: 'storage_corrupt', message: 'classified BAD' });
    expect(store.calls).toBe(1);
    await expect(store.close()).resolves.toBeUndefined();
    expect(foundCorrupt(store)).toBe(true);
    expect(corrupted).toEqual([store]);
  });
});
