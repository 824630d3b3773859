/** Test helpers for Store implementations: the contract suite every store runs. */
export { runStoreContract } from './storeContract.js';
export type { MakeStore } from './storeContract.js';
