import type { ChatRequest, Script, ScriptedReply } from '@spine/scripted-model';
import { pipelineScript } from '../machines/scriptedModel.js';

// The rules the offline eval plays on @spine/scripted-model. IT IS NOT A MODEL: it answers by
// fixed rules read off the request, so an eval on it measures the pipeline's plumbing and how
// the prompts steer these rules, never a model's quality. Two rules read the prompts:
//  - the researcher searches only when its system prompt tells it to use the search tool
//    (a prompt that drops that instruction makes it answer from nothing, as a weak model might);
//  - the judge scores a report by four mechanical checks, one per rubric rule of the research
//    suite: title names the topic, notes come from a real source, sources are listed, <= 300 words.

const JUDGE = 'You are the judge of an evaluation';
const RESEARCHER = 'You are the researcher agent';

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part: { text?: unknown }) => (typeof part.text === 'string' ? part.text : '')).join('');
  return '';
}

function systemOf(request: ChatRequest): string {
  return request.messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => text(m.content)).join('\n');
}

interface ReportSubject {
  topic?: string;
  title?: string;
  body?: string;
  notes?: { source: string; text: string }[];
}

/** The scripted judge's four checks on a report subject (see the comment above). */
export function judgeReport(subject: ReportSubject): { score: number; reasoning: string } {
  const topic = (subject.topic ?? '').toLowerCase();
  const body = subject.body ?? '';
  const checks: [string, boolean][] = [
    ['the title names the topic', topic.length > 0 && (subject.title ?? '').toLowerCase().includes(topic)],
    ['every note comes from a searched source', (subject.notes ?? []).length > 0 && (subject.notes ?? []).every((n) => n.source !== 'scripted-server')],
    ['the body lists its sources', /Sources:/.test(body)],
    ['the body is at most 300 words', body.split(/\s+/).filter(Boolean).length <= 300],
  ];
  const broken = checks.filter(([, ok]) => !ok).map(([rule]) => rule);
  const score = Math.round((10 * (checks.length - broken.length)) / checks.length * 10) / 10;
  return { score, reasoning: broken.length ? `Broken: ${broken.join('; ')}.` : 'Every rule holds.' };
}

function judgeReply(request: ChatRequest): ScriptedReply {
  const last = request.messages.filter((m) => m.role === 'user').map((m) => text(m.content)).pop() ?? '';
  const at = last.indexOf('Subject:\n');
  let subject: ReportSubject = {};
  try {
    subject = JSON.parse(last.slice(at + 'Subject:\n'.length)) as ReportSubject;
  } catch {
    return { json: { score: 0, reasoning: 'The subject is not JSON.' } };
  }
  return { json: judgeReport(subject) };
}

/** The research pipeline's rules plus the judge's, for offline evals. */
export function evalScript(): Script {
  return [
    { match: { system: JUDGE }, respond: judgeReply },
    {
      match: { system: RESEARCHER, hasTools: true },
      respond: (request) =>
        /search tool/.test(systemOf(request))
          ? { toolCalls: [{ name: 'search', arguments: { query: /Research this topic for a short report: (.*)/s.exec(request.messages.map((m) => text(m.content)).join('\n'))?.[1]?.trim() ?? 'the topic' } }] }
          : { json: { notes: [{ source: 'scripted-server', text: 'Answered without searching: the prompt did not ask for the search tool.' }] } },
    },
    ...pipelineScript(),
  ];
}
