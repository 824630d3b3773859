import { existsSync } from 'node:fs';
import { SpineError } from '@spine/runtime/store';
import { SqliteStore } from '@spine/store-sqlite';
import { CliError, EXIT } from './CliError.js';

/** Opens the database, turning a refusal (foreign or corrupt file) into a one-line CLI error. */
export async function openStore(path: string, options: { mustExist?: boolean; readonly?: boolean } = {}): Promise<SqliteStore> {
  if (options.mustExist && !existsSync(path)) throw new CliError(`no Spine database at '${path}' (set it with --db FILE or SPINE_DB)`);
  try {
    return await SqliteStore.open(path, { readonly: Boolean(options.readonly) });
  } catch (error) {
    // A disk that is full, read-only, corrupt or failing is no usage error: exit 1 with the store's one line.
    if (error instanceof SpineError) throw new CliError(error.message, error.code.startsWith('storage_') ? EXIT.failed : EXIT.usage);
    throw error;
  }
}
