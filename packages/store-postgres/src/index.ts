export { PostgresStore } from './PostgresStore.js';
export type { PostgresStoreOptions } from './PostgresStore.js';
export { migrations, APPLICATION } from './migrations.js';
export type { StoreCopy, CopyCounts } from './storeCopy.js';
