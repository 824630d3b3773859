import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repo root, for `--machines machines` and the built CLI. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The real `spine` binary (runs from dist/: the root `npm test` builds first). */
export const spineBin = join(repoRoot, 'packages/cli/bin/spine.js');

/** How a `spine` process ended. */
export interface SpineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of `spawnSpine`. */
export interface SpawnSpineOptions {
  /** Added to the environment; `undefined` removes a variable. `SPINE_DB` is cleared unless given. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** SIGKILL the process after this many milliseconds. */
  killAfterMs?: number;
  /** SIGKILL the process once this returns true (polled every 20 ms). */
  killWhen?: () => boolean;
  /** Written to the process's stdin, which is then closed (stdin is empty otherwise). */
  stdin?: string;
}

/**
 * Runs the real `spine` process, as a user or a crash test would, and resolves when it exits.
 *
 * @example
 * const { code, stdout } = await spawnSpine(['run', 'door', '--db', db, '--json'], { killAfterMs: 400 });
 */
export function spawnSpine(args: string[], options: SpawnSpineOptions = {}): Promise<SpineExit> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, SPINE_DB: '', ...options.env })) {
    if (value !== undefined) env[key] = value;
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [spineBin, ...args], { env, cwd: options.cwd ?? repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => {}); // a process that exits before reading its stdin
    child.stdin.end(options.stdin ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
    const poll = options.killWhen
      ? setInterval(() => {
          if (options.killWhen!()) child.kill('SIGKILL');
        }, 20)
      : undefined;
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
