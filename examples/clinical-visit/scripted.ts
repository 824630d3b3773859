import type { ChatRequest, Script, Transcriber } from '@spine/scripted-model';

// What the example plays on @spine/scripted-model when no provider is configured. IT IS NOT A
// MODEL and not a speech recogniser: slice n of the recording "transcribes" to line n of this
// scripted visit, summaries are the transcript's first sentence, and the report strings the
// summaries together.

export const VISIT = [
  'Doctor: What brings you in today? Patient: A dry cough for two weeks, worse at night.',
  'Doctor: Any fever or shortness of breath? Patient: No fever, a little breathless on stairs.',
  'Doctor: Your lungs sound clear and your oxygen is ninety-eight percent. It looks like a post-viral cough.',
  'Doctor: Try honey and warm fluids, and an inhaler at night if it keeps you awake. Come back if it lasts past four more weeks.',
  'Patient: Should I stay home from work? Doctor: No need, it is not contagious now.',
  'Doctor: I will send the inhaler prescription to your pharmacy today.',
];

/** Slice n of any recording is line n of the scripted visit. */
export const scriptedTranscriber: Transcriber = ({ filename }) => VISIT[Number(/segment-(\d+)/.exec(filename)?.[1] ?? 0) % VISIT.length]!;

function lastUser(request: ChatRequest): string {
  const last = request.messages.filter((m) => m.role === 'user').pop();
  return typeof last?.content === 'string' ? last.content : '';
}

/** The chat rules: the summarizer and the reporter. */
export function visitScript(): Script {
  return [
    {
      match: { system: 'You are the visit summarizer' },
      respond: (request) => {
        const transcript = lastUser(request).split('\n').slice(1).join(' ');
        // The longest sentence, as a stand-in for "the point of this part".
        const sentences = (transcript.match(/[^.?!]+[.?!]/g) ?? [transcript]).map((s) => s.trim().replace(/^(Doctor|Patient): /, ''));
        return { json: { summary: sentences.reduce((a, b) => (b.length > a.length ? b : a)) } };
      },
    },
    {
      match: { system: 'You are the visit reporter' },
      respond: (request) => {
        const summaries = lastUser(request).split('\n').map((line) => line.replace(/^Slice \d+: /, ''));
        return { json: { title: 'After-visit summary', summary: summaries.join(' '), followUps: summaries.filter((s) => /come back|prescription|inhaler/i.test(s)) } };
      },
    },
  ];
}
