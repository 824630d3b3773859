import { createRuntime, defineMachine } from '@spine/runtime';
import { SqliteStore } from '@spine/store-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { PartialJson, ServerMessage } from './protocol.js';
import { startServer, type SpineServer } from './startServer.js';
import { tempDbPath } from './testing/machines.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An activity that writes its answer a word at a time, each word when the test lets that run's activity go on. */
function typist() {
  const words = Array.from({ length: 12 }, (_, i) => `word${i}`);
  const gates = new Map<string, { tokens: number; waiter: (() => void) | undefined }>();
  const gate = (runId: string) => gates.get(runId) ?? gates.set(runId, { tokens: 0, waiter: undefined }).get(runId)!;
  const nextWord = (runId: string, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const g = gate(runId);
      if (g.tokens > 0) return void (g.tokens--, resolve());
      g.waiter = resolve;
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  const machine = defineMachine({
    name: 'typist',
    config: { id: 'typist', initial: 'typing', states: { typing: { invoke: { id: 'type', src: 'type', onDone: 'done' } }, done: { type: 'final' } } },
    schemas: { events: {} },
    activities: {
      type: {
        async run(_input: unknown, ctx) {
          let text = '';
          for (const word of words) {
            await nextWord(ctx.runId, ctx.signal);
            text += `${text ? ' ' : ''}${word}`;
            ctx.progress({ text });
          }
          return { text };
        },
      },
    },
  });
  /** Lets a run's activity write `n` more words. */
  const write = (runId: string, n: number) => {
    const g = gate(runId);
    g.tokens += n;
    while (g.tokens > 0 && g.waiter) {
      const waiter = g.waiter;
      g.waiter = undefined;
      g.tokens--;
      waiter();
    }
  };
  return { machine, words, write };
}

async function client(server: SpineServer) {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
  const messages: ServerMessage[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as ServerMessage));
  cleanups.push(() => ws.close());
  await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let n = 0;
  const subscribe = async (runId: string) => {
    const id = `s${++n}`;
    ws.send(JSON.stringify({ type: 'subscribe', id, runId }));
    await until(() => messages.some((m) => m.type === 'reply' && m.id === id));
  };
  const partials = () => messages.filter((m): m is PartialJson => m.type === 'partial');
  return { messages, subscribe, partials };
}

async function until(ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('live feed: partial output of running activities', () => {
  it('streams it throttled to the clients watching the run only, catches up a late subscriber, ends it when the step commits, and stores none of it', async () => {
    const store = await SqliteStore.open(tempDbPath());
    const { machine, words, write } = typist();
    const runtime = createRuntime({ store, machines: [machine], pollIntervalMs: 20 });
    await runtime.start();
    const server = await startServer({ store, runtime, studioDir: '/nonexistent' });
    cleanups.push(async () => {
      await server.close();
      await runtime.stop();
      await store.close();
    });
    const { runId } = await runtime.startRun('typist');
    const other = await runtime.startRun('typist');
    const watcher = await client(server);
    const elsewhere = await client(server);
    await watcher.subscribe(runId);
    await elsewhere.subscribe(other.runId);

    // Both runs' activities wait for words; let the first run's write four, one at a time.
    for (let i = 0; i < 4; i++) {
      write(runId, 1);
      await new Promise((r) => setTimeout(r, 30));
    }
    write(other.runId, 2);
    await until(() => watcher.partials().length > 0);
    const first = watcher.partials()[0]!;
    expect(first).toMatchObject({ type: 'partial', runId, actorId: runId, src: 'type', attempt: 1, omitted: 0 });
    expect(words.slice(0, 4).join(' ').startsWith(first.text)).toBe(true);

    // A client that subscribes now sees the text so far at once.
    const late = await client(server);
    await late.subscribe(runId);
    await until(() => late.partials().length > 0);
    expect(late.partials()[0]!.text.split(' ').length).toBeGreaterThan(1);

    // Four words in a burst reach a watcher as at most two throttled messages, the latest text winning.
    const before = watcher.partials().length;
    write(runId, 4);
    await until(() => watcher.partials().some((p) => p.text === words.slice(0, 8).join(' ')));
    expect(watcher.partials().length - before).toBeLessThanOrEqual(2);
    // The rest: the attempt ends once its result is committed, and the watcher is told to drop the partial.
    write(runId, words.length);
    await until(() => watcher.partials().some((p) => p.ended));
    expect(watcher.partials().at(-1)).toMatchObject({ ended: true, text: '' });
    expect(await runtime.waitForRun(runId)).toMatchObject({ status: 'done' });
    write(other.runId, words.length);

    // Only this run's watchers got its partials; the other run's watcher got those of its own run.
    expect(elsewhere.partials().every((p) => p.runId === other.runId)).toBe(true);
    expect(elsewhere.partials().length).toBeGreaterThan(0);
    // Nothing partial was stored: the journal and the history hold the complete answer only.
    const [job] = await store.listJobs({ runId });
    expect(JSON.parse(job!.output!)).toEqual({ text: words.join(' ') });
    expect(job!.journal).not.toContain('word0 word1"');
  });
});
