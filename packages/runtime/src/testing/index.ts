/** Test helpers for Store implementations: the contract suite every store runs. */
export { runStoreContract } from './storeContract/index.js';
export type { MakeStore } from './storeContract/index.js';
