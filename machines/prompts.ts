import type { ChatMessage } from '@spine/llm';
import type { Draft, Note } from './events.js';

// The agents' prompts. Each system prompt opens with a stable marker ("You are the <agent>
// agent") that scripted test servers match on; keep it when editing the rest.

/** What the verifier checks every draft against. */
export const RUBRIC = [
  'The title names the topic.',
  'Every claim in the body is supported by one of the notes.',
  'The body names the sources it draws on.',
  'The body is at most 300 words.',
];

/** Model calls the researcher makes with tools before it must answer. */
export const MAX_TOOL_TURNS = 3;

export const RESEARCHER_SYSTEM =
  'You are the researcher agent of a report pipeline. Use the search tool to gather facts about the topic ' +
  `(at most ${MAX_TOOL_TURNS} searches), then answer with JSON {"notes": [{"source": "...", "text": "..."}]}: ` +
  'one note per useful fact, in your own words, with the source it came from. Use only what the searches returned.';

export const WRITER_SYSTEM =
  'You are the writer agent of a report pipeline. Write a short report (at most 300 words) from the notes you are given, ' +
  'naming the sources you use. Answer with JSON {"title": "...", "body": "..."}.';

export const VERIFIER_SYSTEM =
  'You are the verifier agent of a report pipeline. Judge the draft against every rule of the rubric, using the notes as ' +
  'the only evidence. Answer with JSON {"approved": true|false, "score": 0-10, "issues": ["..."]}: approve only when every ' +
  'rule holds; list each broken rule as an issue.';

/** The researcher's first turn. */
export function researchRequest(topic: string): ChatMessage {
  return { role: 'user', content: `Research this topic for a short report: ${topic}` };
}

/**
 * The writer's conversation: one message per note (so a context overflow can drop the oldest
 * notes first), the rejected draft and its feedback when revising, then the instruction.
 */
export function writerMessages(input: { topic: string; notes: Note[]; revision: number; feedback: string[]; previous: Draft | null }): ChatMessage[] {
  const messages: ChatMessage[] = input.notes.map((note, i) => ({ role: 'user', content: `Note ${i + 1} (source: ${note.source}): ${note.text}` }));
  if (input.previous) {
    messages.push(
      { role: 'assistant', content: JSON.stringify(input.previous) },
      { role: 'user', content: `The verifier rejected that draft:\n${input.feedback.map((f) => `- ${f}`).join('\n')}` },
    );
  }
  messages.push({ role: 'user', content: `Write revision ${input.revision} of the report on: ${input.topic}` });
  return messages;
}

/** The verifier's one message: rubric, notes and draft. */
export function verifierMessages(input: { topic: string; notes: Note[]; draft: Draft; revision: number; rubric: string[] }): ChatMessage[] {
  const notes = input.notes.map((n, i) => `${i + 1}. (${n.source}) ${n.text}`).join('\n');
  const rubric = input.rubric.map((r, i) => `${i + 1}. ${r}`).join('\n');
  return [
    {
      role: 'user',
      content:
        `Topic: ${input.topic}\n\nRubric:\n${rubric}\n\nNotes:\n${notes}\n\n` +
        `Draft revision ${input.revision}:\nTitle: ${input.draft.title}\n\n${input.draft.body}`,
    },
  ];
}
