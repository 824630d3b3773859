import { createHash, randomUUID } from 'node:crypto';
import { link, mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineTool, ToolError, type Tool } from '@spine/llm';
import { z } from 'zod';
import { draftSchema, noteSchema } from './events.js';

// The pipeline's two tools. Both touch only local things: `search` reads a folder of notes,
// `publish` writes a file or POSTs to a URL you give it. They run inside activities, never in
// a machine's transition.

const DEFAULT_CORPUS = fileURLToPath(new URL('./corpus/', import.meta.url));

/**
 * `search`: finds the paragraphs of a local corpus (Markdown files) that share the most words with
 * the query. The default corpus is `machines/corpus/`; `SPINE_SEARCH_DIR` points at another.
 */
export function searchTool(options: { dir?: string; maxResults?: number } = {}): Tool {
  return defineTool({
    name: 'search',
    description: 'Searches the local research corpus. Returns up to 3 passages with their source file.',
    input: z.object({ query: z.string().min(1).describe('words to look for') }),
    output: z.object({ results: z.array(noteSchema) }),
    async run({ query }) {
      const dir = resolve(options.dir ?? process.env['SPINE_SEARCH_DIR'] ?? DEFAULT_CORPUS);
      const words = terms(query);
      const scored: { source: string; text: string; score: number }[] = [];
      for (const file of (await readdir(dir)).filter((f) => f.endsWith('.md')).sort()) {
        const text = await readFile(join(dir, file), 'utf8');
        for (const paragraph of text.split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p && !p.startsWith('#'))) {
          const own = new Set(terms(paragraph));
          const score = words.filter((w) => own.has(w)).length;
          if (score > 0) scored.push({ source: file, text: paragraph.replace(/\s+/g, ' '), score });
        }
      }
      scored.sort((a, b) => b.score - a.score || a.source.localeCompare(b.source));
      return { results: scored.slice(0, options.maxResults ?? 3).map(({ source, text }) => ({ source, text })) };
    },
  });
}

/**
 * `publish`: the pipeline's side effect. POSTs the report to `SPINE_PUBLISH_URL` with the
 * activity's idempotency key in the `Idempotency-Key` header, or, without a URL, writes it to
 * `SPINE_PUBLISH_DIR` (default `.spine/published/`) under a name derived from the key, so a
 * re-executed publish finds its own file instead of writing a second one.
 */
export function publishTool(options: { url?: string; dir?: string } = {}): Tool {
  return defineTool({
    name: 'publish',
    description: 'Publishes the approved report.',
    input: draftSchema.extend({ topic: z.string().min(1) }),
    output: z.object({ location: z.string(), duplicate: z.boolean() }),
    async run(report, { idempotencyKey, signal }) {
      const url = options.url ?? process.env['SPINE_PUBLISH_URL'];
      if (url) {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
          body: JSON.stringify(report),
          signal,
        });
        const text = await response.text();
        if (!response.ok) {
          const retryable = response.status >= 500 || response.status === 429;
          throw new ToolError({ tool: 'publish', code: 'tool_failed', retryable, message: `POST ${url} answered ${response.status}: ${text.slice(0, 200)}` });
        }
        const body = safeJson(text) as { location?: unknown; duplicate?: unknown } | undefined;
        return { location: typeof body?.location === 'string' ? body.location : url, duplicate: body?.duplicate === true };
      }
      const dir = resolve(options.dir ?? process.env['SPINE_PUBLISH_DIR'] ?? '.spine/published');
      await mkdir(dir, { recursive: true });
      const file = join(dir, `${slug(report.title)}-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 12)}.md`);
      const content = `# ${report.title}\n\n${report.body}\n\n<!-- topic: ${report.topic}; idempotency key: ${idempotencyKey} -->\n`;
      // Written whole beside the folder, then linked in under its name: a reader never sees a
      // half-written report, and a crash mid-write leaves no file that a retry would take for done.
      const staging = `${dir}.staging`;
      await mkdir(staging, { recursive: true });
      const temp = join(staging, `${basename(file)}.${process.pid}.${randomUUID()}`);
      await writeFile(temp, content, { flag: 'wx' });
      try {
        await link(temp, file);
        return { location: file, duplicate: false };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { location: file, duplicate: true };
        throw error;
      } finally {
        await unlink(temp).catch(() => {});
      }
    },
  });
}

function terms(text: string): string[] {
  return [...new Set(text.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 3))];
}

function slug(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'report';
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
