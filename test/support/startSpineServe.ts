import { spawn } from 'node:child_process';
import { repoRoot, spineBin } from './spawnSpine.js';

/** A running `spine serve` process. */
export interface SpineServe {
  /** The studio's address, as the process printed it (`http://127.0.0.1:PORT`). */
  url: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Whether the process is still running. */
  alive(): boolean;
  /** Stops it with SIGTERM (SIGKILL after 5 s) and resolves with its exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts the real `spine serve --port 0` and resolves once it prints its address.
 *
 * @example
 * const serve = await startSpineServe(['--db', db, '--machines', dir]);
 * await fetch(`${serve.url}/api/runs`);
 * await serve.stop();
 */
export function startSpineServe(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<SpineServe> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, SPINE_DB: '', ...options.env })) if (value !== undefined) env[key] = value;
  const child = spawn(process.execPath, [spineBin, 'serve', '--port', '0', ...args], { env, cwd: options.cwd ?? repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => ((exited = true), resolve(code))));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`spine serve printed no address within 20 s; stderr: ${stderr}`));
    }, 20_000);
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`spine serve exited with ${code} before printing its address; stderr: ${stderr}`));
    });
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /Spine studio: (http:\/\/\S+)/.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      resolve({
        url: match[1]!.replace(/\/$/, ''),
        stderr: () => stderr,
        alive: () => !exited,
        stop: async () => {
          if (exited) return exit;
          child.kill('SIGTERM');
          const force = setTimeout(() => child.kill('SIGKILL'), 5000);
          const code = await exit;
          clearTimeout(force);
          return code;
        },
      });
    });
  });
}
