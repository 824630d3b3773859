/**
 * Default lease of a host, in ms (`RuntimeOptions.leaseMs`): another host may take over its
 * actors and jobs only once its lease has run this long without a renewal.
 */
export const DEFAULT_LEASE_MS = 6000;
