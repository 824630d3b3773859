/**
 * Test-only crash hook for a store's group commit: with `SPINE_TEST_KILL_IN_BATCH=N` the process
 * kills itself with SIGKILL halfway through the N-th group commit of two or more entries, inside
 * its open transaction (the crash tests use it to prove a batch is atomic). Undefined when unset,
 * so a store pays nothing for it in production.
 */
export function crashInBatchHook(): ((size: number) => void) | undefined {
  const target = Number(process.env.SPINE_TEST_KILL_IN_BATCH);
  if (!Number.isInteger(target) || target < 1) return undefined;
  let batches = 0;
  return (size) => {
    if (size >= 2 && ++batches === target) process.kill(process.pid, 'SIGKILL');
  };
}
