export { SqliteStore, DEFAULT_PAGE_SIZE } from './SqliteStore.js';
export type { SqliteStoreOptions } from './SqliteStore.js';
export { migrations, APPLICATION } from './migrations.js';
