/** Exit codes of the `spine` command. */
export const EXIT = { done: 0, failed: 1, usage: 2, waiting: 3 } as const;

/** An error that ends the command with a one-line message and an exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}
