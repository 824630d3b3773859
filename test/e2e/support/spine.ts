import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const ROOT = resolve(here, '../../..');
/** Machines the end-to-end tests run (`ticker`, `stepper`). */
export const MACHINES = resolve(here, '../machines');
const CLI = join(ROOT, 'packages/cli/bin/spine.js');
const SERVE_FALLBACK = join(here, 'serve.ts');

/** A fresh database path in a temporary directory. */
export function tempDb(): string {
  return join(mkdtempSync(join(tmpdir(), 'spine-e2e-')), 'spine.db');
}

/** Whether the CLI has been built with its `serve` command (until then the tests use support/serve.ts). */
export function cliHasServe(): boolean {
  return existsSync(join(ROOT, 'packages/cli/dist/commands/serve.js'));
}

/** A running `spine serve` process. */
export interface ServeProcess {
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `spine serve --db DB --port 0 --machines DIR` as a real process and
 * waits for its `Spine studio: URL` line. Rejects with the process's output if
 * it exits first (e.g. refusing a non-loopback host without a token).
 */
export async function startServe(options: { db: string; host?: string; env?: Record<string, string | undefined>; machines?: string | null; args?: string[] }): Promise<ServeProcess> {
  const args = ['--db', options.db, '--port', '0', ...(options.args ?? [])];
  if (options.machines !== null) args.push('--machines', options.machines ?? MACHINES);
  if (options.host) args.push('--host', options.host);
  const command = cliHasServe() ? [CLI, 'serve', ...args] : ['--conditions=@spine/source', '--import', 'tsx', SERVE_FALLBACK, ...args];
  const env = { ...process.env, ...options.env };
  for (const [key, value] of Object.entries(options.env ?? {})) if (value === undefined) delete env[key];
  const child = spawn(process.execPath, command, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`spine serve printed no URL in 30 s:\n${output}`)), 30_000);
    const onData = () => {
      const match = /Spine studio: (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`spine serve exited with ${code}:\n${output}`), { exitCode: code, output }));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    child,
    output: () => output,
    stop: () => stopProcess(child),
  };
}

/** A `spine run` process: its run id (from its `run <id> started` line) and its exit. */
export interface RunProcess {
  runId: string;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts `spine run <machine> --db DB --machines DIR --json` as a separate process. */
export async function spineRun(machine: string, options: { db: string; input?: unknown; machines?: string }): Promise<RunProcess> {
  if (!existsSync(join(ROOT, 'packages/cli/dist/main.js'))) throw new Error('The CLI is not built: run `npm run build` first.');
  const args = [CLI, 'run', machine, '--db', options.db, '--machines', options.machines ?? MACHINES, '--json'];
  if (options.input !== undefined) args.push('--input', JSON.stringify(options.input));
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => child.once('exit', (code) => done({ code, stdout, stderr })));
  const runId = await new Promise<string>((resolveId, reject) => {
    const timer = setTimeout(() => reject(new Error(`spine run printed no run id in 30 s:\n${stderr}`)), 30_000);
    child.stderr!.on('data', () => {
      const match = /run (\S+) started/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolveId(match[1]!);
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`spine run exited with ${code} before starting:\n${stderr}`));
    });
  });
  return { runId, exited };
}

/** Builds the studio when its dist is missing or older than its sources (one build at a time across test workers). */
export function ensureStudioBuilt(): void {
  const studio = join(ROOT, 'apps/studio');
  const built = join(studio, 'dist/index.html');
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  const fresh = () => existsSync(built) && statSync(built).mtimeMs >= Math.max(newest(join(studio, 'src')), statSync(join(studio, 'index.html')).mtimeMs);
  if (fresh()) return;
  const lock = join(studio, '.build-lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) rmSync(lock, { recursive: true, force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (fresh()) return;
    const result = spawnSync('npm', ['run', 'build', '-w', 'apps/studio'], { cwd: ROOT, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`Building the studio failed:\n${result.stdout}\n${result.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Debian's Chromium (scripts/ensure-chromium.sh installs it), headless. */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = process.env.SPINE_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`No browser at ${executablePath}: run scripts/ensure-chromium.sh (installs Debian's chromium).`);
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
