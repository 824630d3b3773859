import { describe, expect, it, vi } from 'vitest';
import { ensureError, formatIssues, markError, RetryableError, SpineError, TerminalError } from './errors.js';

describe('one error model', () => {
  it('recognises errors of another copy of the package under instanceof (brands, not class identity)', async () => {
    // A second module instance of errors.ts: what a duplicated package or a TypeScript loader produces.
    vi.resetModules();
    const copy = await import('./errors.js');
    expect(copy.SpineError).not.toBe(SpineError);
    const foreign = new copy.RetryableError('later', { retryAfterMs: 5 });
    expect(foreign instanceof RetryableError).toBe(true);
    expect(foreign instanceof SpineError).toBe(true);
    expect(foreign instanceof TerminalError).toBe(false);
    expect(new TerminalError('no') instanceof copy.TerminalError).toBe(true);
    expect(new SpineError('conflict', 'x') instanceof copy.RetryableError).toBe(false);
    expect(new Error('plain') instanceof SpineError).toBe(false);
  });

  it('keeps instanceof by prototype for user subclasses of SpineError', () => {
    class MyError extends SpineError {}
    expect(new MyError('conflict', 'x') instanceof MyError).toBe(true);
    expect(new SpineError('conflict', 'x') instanceof MyError).toBe(false);
  });

  it('maps another error family onto RetryableError or TerminalError with markError', () => {
    const retryable = Object.assign(new Error('rate limited'), { retryAfterMs: 100, kind: 'rate_limit' });
    markError(retryable, 'retryable');
    expect(RetryableError.is(retryable) && retryable instanceof RetryableError).toBe(true);
    const terminal = new Error('bad request');
    markError(terminal, 'terminal');
    expect(terminal instanceof TerminalError && !(terminal instanceof RetryableError)).toBe(true);
  });

  it('formats issues on one line and normalises what was thrown once', () => {
    expect(formatIssues([{ path: 'items[0].price', message: 'Expected number' }, { path: '', message: 'Required' }])).toBe('items[0].price: Expected number; (root): Required');
    expect(ensureError('boom').message).toBe('boom');
    expect(ensureError({ name: 'TypeError', message: 'bad' })).toMatchObject({ name: 'TypeError', message: 'bad' });
  });
});
