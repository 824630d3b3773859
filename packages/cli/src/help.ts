import { EXIT } from './CliError.js';

/** Prints a command's usage line for `--help` and returns exit code 0. */
export function help(text: string): number {
  process.stdout.write(`usage: ${text}\n`);
  return EXIT.done;
}
