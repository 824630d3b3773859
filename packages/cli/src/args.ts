import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './CliError.js';

/** Options every database command shares. */
export const dbOptions = {
  db: { type: 'string' },
  machines: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

/** Parses a command's arguments; unknown flags and missing values become usage errors. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
  usage: string,
): { values: { [K in keyof T]: T[K] extends { type: 'boolean' } ? boolean : string | undefined }; positionals: string[] } {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true }) as never;
  } catch (error) {
    throw new CliError(`${(error as Error).message}\nusage: ${usage}`);
  }
}

/** The database path: --db, then $SPINE_DB, then .spine/spine.db. */
export function dbPath(value: string | undefined): string {
  return value ?? process.env.SPINE_DB ?? '.spine/spine.db';
}

/** Parses a JSON argument, naming the flag when it is malformed. */
export function parseJsonArg(value: string | undefined, flag: string): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new CliError(`${flag} is not valid JSON: ${(error as Error).message}`);
  }
}

/** A positive integer flag. */
export function intArg(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} must be a non-negative integer, got '${value}'`);
  return n;
}
