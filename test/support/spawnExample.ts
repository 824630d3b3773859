import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, type SpineExit } from './spawnSpine.js';

/**
 * Runs an example's `main.ts` as its README does (TypeScript through tsx, in its own process),
 * and resolves when it exits; `killWhen` is polled every 10 ms and SIGKILLs it once true.
 */
export function spawnExample(
  example: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; killWhen?: () => boolean } = {},
): Promise<SpineExit> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...options.env })) if (value !== undefined) env[key] = value;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'examples', example, 'main.ts'), ...args], { env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const poll = options.killWhen
      ? setInterval(() => {
          if (options.killWhen!()) child.kill('SIGKILL');
        }, 10)
      : undefined;
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
