/** What went wrong in an eval, as a string union. */
export type EvalErrorCode = 'invalid_suite' | 'invalid_dataset' | 'invalid_baseline' | 'unknown_suite';

/** Thrown for a suite, dataset or baseline that cannot be used; the message names the file and the problem. */
export class EvalError extends Error {
  override name = 'EvalError';
  readonly code: EvalErrorCode;
  constructor(code: EvalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
