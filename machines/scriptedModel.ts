import type { ChatRequest, Script, ScriptedReply } from '@spine/scripted-model';

// The script the offline demo and the tests play on @spine/scripted-model: a real Chat
// Completions server that answers by these rules. IT IS NOT A MODEL: it reads nothing, it
// rearranges the text of the request mechanically (the notes become the draft, the search
// results become the notes), so the pipeline has something to move along.

/** Options of `pipelineScript`. */
export interface PipelineScriptOptions {
  /** Whether the verifier rejects revision 0 of every draft, so each run shows the revise loop (default true). */
  rejectFirstDraft?: boolean;
}

const RESEARCHER = 'You are the researcher agent';
const WRITER = 'You are the writer agent';
const VERIFIER = 'You are the verifier agent';

/**
 * Rules that answer each agent of the pipeline. Every answer is computed from the request alone,
 * so any number of runs can share one server, and a retried request gets the same answer.
 */
export function pipelineScript(options: PipelineScriptOptions = {}): Script {
  const rejectFirst = options.rejectFirstDraft ?? true;
  return [
    { match: { system: RESEARCHER, toolResultFor: 'search' }, respond: (request) => ({ json: { notes: notesFromResults(request) } }) },
    {
      match: { system: RESEARCHER, hasTools: true },
      respond: (request) => ({ toolCalls: [{ name: 'search', arguments: { query: researchTopic(request) } }] }),
    },
    { match: { system: RESEARCHER }, respond: (request) => ({ json: { notes: notesFromResults(request) } }) },
    { match: { system: WRITER }, respond: (request) => ({ json: draftFrom(request) }) },
    { match: { system: VERIFIER }, respond: (request) => verdictFor(request, rejectFirst) },
  ];
}

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part: { text?: unknown }) => (typeof part.text === 'string' ? part.text : '')).join('');
  return '';
}

function userTexts(request: ChatRequest): string[] {
  return request.messages.filter((m) => m.role === 'user').map((m) => text(m.content));
}

function researchTopic(request: ChatRequest): string {
  for (const line of userTexts(request)) {
    const found = /Research this topic for a short report: (.*)/s.exec(line);
    if (found) return found[1]!.trim();
  }
  return 'the topic';
}

function notesFromResults(request: ChatRequest): { source: string; text: string }[] {
  const notes: { source: string; text: string }[] = [];
  for (const message of request.messages) {
    if (message.role !== 'tool') continue;
    try {
      const parsed = JSON.parse(text(message.content)) as { results?: { source: string; text: string }[] };
      for (const result of parsed.results ?? []) notes.push({ source: result.source, text: firstSentences(result.text, 2) });
    } catch {
      // a tool error or a disabled-tool notice: nothing to take notes from
    }
  }
  if (notes.length) return notes;
  return [{ source: 'scripted-server', text: `No local source matched "${researchTopic(request)}"; this placeholder note was written by the scripted server, not found.` }];
}

function draftFrom(request: ChatRequest): { title: string; body: string } {
  const users = userTexts(request);
  const topic = /report on: (.*)$/s.exec(users[users.length - 1] ?? '')?.[1]?.trim() ?? 'the topic';
  const notes = users.map((u) => /^Note \d+ \(source: (.*?)\): (.*)$/s.exec(u)).filter((m): m is RegExpExecArray => m !== null);
  const revising = users.some((u) => u.startsWith('The verifier rejected'));
  const sentences = notes.map((m) => `${m[2]} (${m[1]})`);
  const sources = [...new Set(notes.map((m) => m[1]))];
  const body = `${sentences.join(' ')}${revising ? `\n\nSources: ${sources.join(', ')}.` : ''}`;
  return { title: `${topic[0]!.toUpperCase()}${topic.slice(1)}: a short report`, body: body || `Nothing is known about ${topic}.` };
}

function verdictFor(request: ChatRequest, rejectFirst: boolean): ScriptedReply {
  const revision = Number(/Draft revision (\d+)/.exec(userTexts(request).join('\n'))?.[1] ?? '0');
  if (rejectFirst && revision === 0) {
    return { json: { approved: false, score: 5, issues: ['The body names its sources inline but does not list them at the end.'] } };
  }
  return { json: { approved: true, score: 8, issues: [] } };
}

function firstSentences(paragraph: string, n: number): string {
  const sentences = paragraph.match(/[^.!?]+[.!?]+/g) ?? [paragraph];
  return sentences.slice(0, n).join('').trim();
}
