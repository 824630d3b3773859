import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { machineToMermaid } from '@spine/server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, ROOT } from './support/spine.js';

// The Mermaid export (the editor's and `spine export --format mermaid`) is checked by Mermaid
// itself: its own parser and renderer (the `mermaid` package, in Chromium, where it runs for a
// user) read every machine of machines/ and the tests, and a machine whose state and event names
// hold every character Mermaid gives a meaning to. The rendered diagram must show each name as written.

const mermaidJs = createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js');

/** Every `*.machine.json` under a directory (node_modules and build output aside). */
function machineFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.') ? [] : machineFiles(path);
    return entry.name.endsWith('.machine.json') ? [path] : [];
  });
}

/**
 * Names Mermaid's grammar or its label rendering treats specially, as state and event names (a
 * state name may not start with `#`, which XState reads as an id reference).
 */
const AWKWARD = [
  'say "hi"',
  'a: b; c',
  'no. #1 <b>bold</b> & co',
  "%%{init: {'theme':'dark'}}%%",
  '%% not a comment',
  'x --> y',
  '[*] start',
  '{braces} [brackets] (parens)',
  'state end',
  'back\\slash `tick`',
  'émoji 🚀 ünïcode',
  'percent 100%',
  'line\nbreak',
];

let browser: Browser;
let page: Page;

beforeAll(async () => {
  browser = await launchBrowser();
  page = await browser.newPage();
  await page.setContent('<!doctype html><html><body></body></html>');
  await page.addScriptTag({ path: mermaidJs });
  await page.evaluate(() => (window as unknown as { mermaid: { initialize(o: object): void } }).mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' }));
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

/**
 * Parses a diagram with Mermaid in the page and, with `draw`, renders it; returns the rendered
 * SVG's text (empty when not drawn), or Mermaid's error.
 */
async function render(text: string, id: string, draw = true): Promise<{ ok: true; labels: string } | { ok: false; error: string }> {
  return page.evaluate(
    async ({ text, id, draw }) => {
      const mermaid = (window as unknown as { mermaid: { parse(t: string): Promise<unknown>; render(id: string, t: string): Promise<{ svg: string }> } }).mermaid;
      try {
        await mermaid.parse(text);
        if (!draw) return { ok: true as const, labels: '' };
        const { svg } = await mermaid.render(id, text);
        const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
        return { ok: true as const, labels: (doc.documentElement.textContent ?? '').replace(/\s+/g, ' ') };
      } catch (error) {
        return { ok: false as const, error: String((error as Error).message ?? error) };
      }
    },
    { text, id, draw },
  );
}

describe('Mermaid export, read by Mermaid in Chromium', { timeout: 60_000 }, () => {
  it('parses every machine of machines/ and of the tests, and draws those of machines/ with every state shown by its name', async () => {
    const shipped = machineFiles(join(ROOT, 'machines'));
    const files = [...shipped, ...machineFiles(join(ROOT, 'test'))];
    expect(files.length).toBeGreaterThan(10);
    const failures: string[] = [];
    for (const [i, file] of files.entries()) {
      const config = JSON.parse(readFileSync(file, 'utf8')) as { states?: Record<string, unknown> };
      const draw = shipped.includes(file);
      const result = await render(machineToMermaid(config), `m${i}`, draw);
      if (!result.ok) failures.push(`${relative(ROOT, file)}: ${result.error}`);
      else if (draw) for (const name of Object.keys(config.states ?? {})) if (!result.labels.includes(name)) failures.push(`${relative(ROOT, file)}: state '${name}' is not shown`);
    }
    expect(failures).toEqual([]);
  });

  it('keeps state and event names with characters Mermaid gives a meaning to as written', async () => {
    const states: Record<string, unknown> = {};
    AWKWARD.forEach((name, i) => {
      const next = AWKWARD[(i + 1) % AWKWARD.length]!;
      states[name] = { on: { [`go ${name}`]: next }, ...(i === 0 ? { after: { 'wait: 5s': next } } : {}) };
    });
    const config = { id: 'awkward "machine"', initial: AWKWARD[0], states };
    const text = machineToMermaid(config);
    const result = await render(text, 'awkward');
    if (!result.ok) throw new Error(`Mermaid refused the export: ${result.error}\n${text}`);
    for (const name of AWKWARD) {
      const shown = name.replace(/\n/g, ' ');
      expect(result.labels, `state ${JSON.stringify(name)}`).toContain(shown);
      expect(result.labels, `event ${JSON.stringify(name)}`).toContain(`go ${shown}`);
    }
    expect(result.labels).toContain('after wait: 5s');
  });
});
