import { existsSync } from 'node:fs';
import { SpineError } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { CliError } from './CliError.js';

/** Opens the database, turning a refusal (foreign or corrupt file) into a one-line CLI error. */
export async function openStore(path: string, options: { mustExist?: boolean; readonly?: boolean } = {}): Promise<SqliteStore> {
  if (options.mustExist && !existsSync(path)) throw new CliError(`no Spine database at '${path}' (set it with --db FILE or SPINE_DB)`);
  try {
    return await SqliteStore.open(path, { readonly: Boolean(options.readonly) });
  } catch (error) {
    if (error instanceof SpineError) throw new CliError(error.message);
    throw error;
  }
}
