import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings every `spine` process runs with (and its hosts' child processes: bench workers, a
 * bench's live host), unless the user set them otherwise.
 *
 * `--no-allocation-site-pretenuring`: V8 watches where objects are allocated and, when most of a
 * site's objects are found alive at a young-generation collection, allocates that site's objects
 * in the old generation from then on. xstate's `transition()` trips it: on a 20-state machine,
 * `transition()` alone in a loop leaves 2.3 MB alive at every young collection and each pause
 * takes 4.7 ms; with the setting off, 16 KB and 0.6 ms (`node --trace-gc-nvp`, Node 20). Garbage
 * allocated in the old generation keeps the young objects it points to alive until the next full
 * collection, so they are copied, then promoted. Off, a durable activity step spent about 15%
 * less time (packages/runtime/README.md, "The host process's V8 settings"). Objects that really
 * live long are promoted after two young collections instead of at once: a cost paid once per object.
 */
export const HOST_V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

/**
 * Applies {@link HOST_V8_FLAGS} to this process, each unless the user named the same V8 setting
 * in `node`'s options or NODE_OPTIONS (either way round: `--allocation-site-pretenuring` keeps
 * V8's default); `SPINE_V8_DEFAULTS=1` leaves V8 as it is. Returns the flags applied. Call it
 * before the runtime is loaded: V8 reads the setting at every collection, and the sooner it is
 * off, the fewer sites were tenured before.
 */
export function applyHostV8Flags(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): string[] {
  if (env.SPINE_V8_DEFAULTS === '1') return [];
  const chosen = `${execArgv.join(' ')} ${env.NODE_OPTIONS ?? ''}`.replaceAll('_', '-');
  const flags = HOST_V8_FLAGS.filter((flag) => !chosen.includes(flag.replace(/^--(no-)?/, '')));
  for (const flag of flags) setFlagsFromString(flag);
  applied.push(...flags.filter((flag) => !applied.includes(flag)));
  return flags;
}

const applied: string[] = [];

/**
 * The flags {@link applyHostV8Flags} applied to this process: what the Spine processes it starts
 * (bench workers, a bench's live host) are started with, so that they run as it does.
 */
export function appliedV8Flags(): string[] {
  return [...applied];
}
