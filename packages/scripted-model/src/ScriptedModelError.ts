/** What went wrong when configuring a scripted model server. */
export type ScriptedModelErrorCode = 'invalid_script' | 'invalid_fault_plan' | 'invalid_options';

/**
 * The one error this package throws: when a script, fault plan or server option is invalid
 * (at `startScriptedModelServer`, `setScript`, `setFaults` or `parseScript`). Faults it injects
 * are HTTP answers, never thrown errors.
 */
export class ScriptedModelError extends Error {
  override readonly name = 'ScriptedModelError';

  constructor(
    readonly code: ScriptedModelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
