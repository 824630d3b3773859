import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './support/spawnSpine.js';

// Spine as a user gets it from npm: every package packed with `npm pack` (its prepack builds dist/),
// installed from the tarballs into an app in a temp directory outside the repo (its own package.json,
// no workspace links), then used the ways the README and docs/first-agent.md say. One install, shared.

const PACKAGES = ['runtime', 'store-sqlite', 'store-postgres', 'scripted-model', 'llm', 'evals', 'server', 'cli'];
const repoRequire = createRequire(join(repoRoot, 'package.json'));
const versionOf = (name: string): string => (JSON.parse(readFileSync(repoRequire.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;

// The app's own TypeScript, as `tsc` with the app's tsconfig (strict, skipLibCheck off) would check it,
// minus the full check of third-party declarations (zod, xstate, the AI SDK: minutes on a busy CI
// machine): the app's files and every @spine declaration are checked in full, and every import in
// any declaration file must resolve to types (an untyped one is the TS7016 a strict app would get).
const TYPECHECK = `import ts from 'typescript';
const parsed = ts.getParsedCommandLineOfConfigFile('tsconfig.json', {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\\n')); } });
const program = ts.createProgram(parsed.fileNames, parsed.options);
const ambient = new Set(program.getTypeChecker().getAmbientModules().map((m) => m.name.replace(/^"|"$/g, '')));
const diagnostics = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
const problems = [];
for (const file of program.getSourceFiles()) {
  if (!file.fileName.includes('/node_modules/') || file.fileName.includes('/node_modules/@spine/')) {
    diagnostics.push(...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file));
  }
  if (!file.isDeclarationFile) continue;
  for (const specifier of file.imports) {
    const name = specifier.text;
    if (name.startsWith('.') || ambient.has(name)) continue;
    const mode = ts.getModeForUsageLocation(file, specifier, parsed.options);
    const resolved = ts.resolveModuleName(name, file.fileName, parsed.options, ts.sys, undefined, undefined, mode).resolvedModule;
    if (!resolved || !/\\.d\\.[mc]?ts$/.test(resolved.resolvedFileName)) problems.push(\`\${file.fileName}: '\${name}' has no type declarations\`);
  }
}
const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\\n' };
process.stdout.write(ts.formatDiagnostics(diagnostics, host) + [...new Set(problems)].join('\\n'));
`;

let app = '';
let scripted: ChildProcess | undefined;
let serve: ChildProcess | undefined;
let greeterRun = '';

/** The environment of a child npm/node: no variables of the npm that runs this suite (workspace, package, lifecycle). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle|config_workspace|config_prefix)|^INIT_CWD$|^SPINE_/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): { stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd, env: cleanEnv(env), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  }
  return { stdout: result.stdout, stderr: result.stderr };
}

/** Starts a long-running binary of the app and resolves with the first line of stdout matching `pattern`. */
function startBin(bin: string, args: string[], pattern: RegExp, env: Record<string, string> = {}): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(join(app, 'node_modules/.bin', bin), args, { cwd: app, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const match = out.match(pattern);
      if (match) resolve({ child, match });
    });
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk));
    child.on('exit', (code) => reject(new Error(`${bin} exited ${code} before printing ${pattern}:\n${out}\n${err}`)));
  });
}

beforeAll(() => {
  app = mkdtempSync(join(tmpdir(), 'spine-app-'));
  const tarballs = join(app, 'tarballs');
  mkdirSync(tarballs);
  run('npm', ['pack', '--pack-destination', tarballs, ...PACKAGES.flatMap((p) => ['-w', `packages/${p}`])], repoRoot);
  const packed = readdirSync(tarballs);
  const dependencies: Record<string, string> = {};
  for (const p of PACKAGES) {
    const file = packed.find((f) => f === `spine-${p}-0.1.0.tgz`);
    if (!file) throw new Error(`npm pack made no tarball for @spine/${p} (made: ${packed.join(', ')})`);
    dependencies[`@spine/${p}`] = `file:./tarballs/${file}`;
  }
  // The app's own copies of the peers; exact versions the repo already has, so npm's cache answers.
  for (const name of ['xstate', 'zod', 'better-sqlite3']) dependencies[name] = versionOf(name);
  const devDependencies = { typescript: versionOf('typescript'), '@types/node': versionOf('@types/node') };
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'spine-scratch-app', private: true, type: 'module', dependencies, devDependencies }, null, 2));
  // --ignore-scripts: better-sqlite3's install script downloads a prebuilt addon from GitHub or compiles one, and this
  // machine reaches only the npm registry; the repo's own addon of the same better-sqlite3 version is put where it looks.
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], app);
  const addon = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
  mkdirSync(join(app, addon, '..'), { recursive: true });
  copyFileSync(join(repoRoot, addon), join(app, addon));
  const sample = readFileSync(join(repoRoot, 'README.md'), 'utf8').match(/```ts\n([\s\S]*?)```/)?.[1];
  if (!sample) throw new Error("README.md has no ```ts sample");
  writeFileSync(join(app, 'readme.ts'), sample);
}, 300_000);

afterAll(async () => {
  // Wait for the app's processes to exit before removing their folder (a busy machine is slow to stop them).
  await Promise.all(
    [serve, scripted].map(async (child) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
  // The scratch app holds a full node_modules: removing it takes a while on a busy machine.
  if (app) await rm(app, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}, 180_000);

describe('Spine installed from its npm tarballs into an app outside the repo', () => {
  it('installs real copies (no workspace links) that ship dist/ and the CLI the built studio, without sources or tests', () => {
    for (const p of PACKAGES) {
      const dir = join(app, 'node_modules/@spine', p);
      expect(lstatSync(dir).isSymbolicLink(), `@spine/${p} is a link`).toBe(false);
      expect(existsSync(join(dir, 'dist/index.js')), `@spine/${p} dist/index.js`).toBe(true);
      expect(existsSync(join(dir, 'dist/index.d.ts')), `@spine/${p} dist/index.d.ts`).toBe(true);
      expect(existsSync(join(dir, 'src')), `@spine/${p} ships src/`).toBe(false);
      const files = readdirSync(join(dir, 'dist'), { recursive: true }).map(String);
      expect(files.filter((f) => f.includes('.test.') || f.endsWith('.tsbuildinfo'))).toEqual([]);
    }
    expect(readFileSync(join(app, 'node_modules/@spine/cli/studio/index.html'), 'utf8')).toContain('<script');
    // One copy of each shared peer: the app's own.
    for (const p of PACKAGES) {
      for (const peer of ['xstate', 'zod', '@spine/runtime']) expect(existsSync(join(app, 'node_modules/@spine', p, 'node_modules', peer))).toBe(false);
    }
  });

  it("type-checks an app and README's first sample against every package under strict, every declaration's imports typed", () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
        files: ['consumer.ts', 'readme.ts'],
      }),
    );
    writeFileSync(
      join(app, 'consumer.ts'),
      `import { createRuntime, defineActivity, defineMachine, type Runtime, type RunOutcome } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { createLlmEnvironment, modelActivity, costOf, loadPriceTable, type ModelStep } from '@spine/llm';
import { startServer, type SpineServer } from '@spine/server';
import { startScriptedModelServer } from '@spine/scripted-model';
import { z } from 'zod';

const m = defineMachine({
  name: 'm',
  config: { id: 'm', initial: 'a', states: { a: { invoke: { id: 'x', src: 'x', onDone: 'b' } }, b: { type: 'final' } } },
  schemas: { events: { go: z.object({ n: z.number() }) } },
  activities: { x: defineActivity({ run: async (_input: unknown, ctx) => ({ key: ctx.key }) }) },
});
const think = modelActivity({ agent: 'a', llm: createLlmEnvironment(), request: () => ({ messages: [{ role: 'user', content: 'hi' }] }) });
export async function wire(): Promise<[Runtime, SpineServer, RunOutcome, number]> {
  const store: SqliteStore = await SqliteStore.open(':memory:');
  const runtime = createRuntime({ store, machines: [m] });
  const server = await startServer({ store, runtime });
  const model = await startScriptedModelServer({ script: [] });
  await model.close();
  const step: ModelStep | undefined = undefined;
  void think; void step;
  const usd: number = costOf('gpt-4o-mini', { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0 }, loadPriceTable()).usd;
  return [runtime, server, await runtime.waitForRun('x'), usd];
}
`,
    );
    writeFileSync(join(app, 'typecheck.mjs'), TYPECHECK);
    const { stdout } = run(process.execPath, ['typecheck.mjs'], app);
    expect(stdout.trim()).toBe('');
  }, 240_000);

  it("runs README's first sample as written", () => {
    const { stdout } = run(join(app, 'node_modules/.bin/tsx'), ['readme.ts'], app);
    expect(stdout).toMatch(/status: 'done'/);
  }, 60_000);

  it("runs the app's own machines with the installed `spine run`, offline on the installed scripted model", async () => {
    // docs/first-agent.md shows these files in full; they are what runs here.
    const guide = readFileSync(join(repoRoot, 'docs/first-agent.md'), 'utf8');
    for (const file of ['machines/greeter.machine.json', 'machines/greeter.ts', 'script.json']) {
      expect(guide, file).toContain(readFileSync(join(repoRoot, 'docs/first-agent', file), 'utf8').trimEnd());
    }
    cpSync(join(repoRoot, 'docs/first-agent/machines'), join(app, 'machines'), { recursive: true });
    copyFileSync(join(repoRoot, 'docs/first-agent/script.json'), join(app, 'script.json'));
    const started = await startBin('spine-scripted-model', ['--script', 'script.json'], /(http:\/\/\S+\/v1)/);
    scripted = started.child;
    const env = { OPENAI_BASE_URL: started.match[1]!, OPENAI_API_KEY: 'not-needed' };
    const { stdout } = run(join(app, 'node_modules/.bin/spine'), ['run', 'greeter', '--input', '{"name":"Ada"}', '--json'], app, env);
    const outcome = JSON.parse(stdout) as { status: string; runId: string; output: { greeting: string | null; error: string | null } };
    expect(outcome).toMatchObject({ status: 'done', output: { greeting: 'Hello, friend: welcome to Spine!', error: null } });
    greeterRun = outcome.runId;
    const shown = run(join(app, 'node_modules/.bin/spine'), ['show', outcome.runId], app).stdout;
    expect(shown).toContain('gpt-4o-mini');
  }, 60_000);

  it('serves the bundled studio and the API with the installed `spine serve`', async () => {
    const started = await startBin('spine', ['serve', '--port', '0'], /Spine studio: (http:\/\/\S+)/);
    serve = started.child;
    const url = started.match[1]!;
    const page = await fetch(url);
    expect(page.status).toBe(200);
    const html = await page.text();
    const asset = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
    expect(asset, html).toBeDefined();
    const script = await fetch(url + asset);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');
    const machines = await (await fetch(`${url}/api/machines`)).text();
    expect(machines).toContain('greeter');
    const runs = await (await fetch(`${url}/api/runs`)).text();
    expect(runs).toContain(greeterRun);
  }, 60_000);
});
