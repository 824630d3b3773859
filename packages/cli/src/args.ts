import { readFileSync } from 'node:fs';
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
    throw new CliError(`${parseErrorText(error as Error & { code?: string }, options)}\nusage: ${usage}`);
  }
}

/** node:util's parseArgs errors, said in the CLI's words (its own text suggests `--` and other internals). */
function parseErrorText(error: Error & { code?: string }, options: NonNullable<ParseArgsConfig['options']>): string {
  const option = /'(-{1,2}[^'\s]+)/.exec(error.message)?.[1];
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
    const known = Object.keys(options).map((name) => `--${name}`);
    const near = known.find((k) => k.startsWith(option.split('=')[0]!) || option.startsWith(k));
    return `unknown option '${option}'${near ? ` (did you mean ${near}?)` : ''}`;
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    const name = option.replace(/^-+/, '').split(/[ =]/)[0]!;
    const spec = options[name] ?? Object.values(options).find((o) => o.short === name);
    return spec?.type === 'boolean' ? `option '${option.split(/[ =]/)[0]}' takes no value` : `option '${option.split(/[ =]/)[0]}' needs a value`;
  }
  return error.message;
}

/** The database path: --db, then $SPINE_DB, then .spine/spine.db. */
export function dbPath(value: string | undefined): string {
  return value ?? (process.env.SPINE_DB || '.spine/spine.db');
}

/**
 * Parses a JSON argument, naming the flag when it is malformed. `-` reads the JSON from stdin and
 * `@path` from a file, for texts longer than the system allows in one argument (128 KiB on Linux).
 */
export function parseJsonArg(value: string | undefined, flag: string): unknown {
  if (value === undefined) return undefined;
  const text = value === '-' ? readSource(0, `${flag} from stdin`) : value.startsWith('@') ? readSource(value.slice(1), `${flag} file '${value.slice(1)}'`) : value;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`${flag} is not valid JSON: ${(error as Error).message}`);
  }
}

function readSource(source: string | 0, what: string): string {
  try {
    return readFileSync(source, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${what}: ${(error as Error).message}`);
  }
}

/** A positive integer flag. */
export function intArg(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} must be a non-negative integer, got '${value}'`);
  return n;
}
