import type { MachineJson } from '@spine/server/protocol';
import { useEffect, useState } from 'react';
import { useStudio } from './hooks.js';

/** Sends an event to the selected agent; the server checks it against the agent's schema. */
export function SendEventForm({ runId, actorId, machine, runtime, active }: { runId: string; actorId: string; machine: MachineJson | undefined; runtime: boolean; active: boolean }) {
  const studio = useStudio();
  const events = machine?.events ?? [];
  const [type, setType] = useState(events[0]?.type ?? '');
  const [payload, setPayload] = useState('{}');
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    if (!events.some((e) => e.type === type)) setType(events[0]?.type ?? '');
  }, [events, type]);
  useEffect(() => {
    const schema = events.find((e) => e.type === type)?.schema;
    setPayload(JSON.stringify(skeleton(schema), null, 2));
  }, [type, events]);
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    let body: unknown;
    try {
      body = payload.trim() ? JSON.parse(payload) : {};
    } catch (err) {
      setError(`The payload is not JSON: ${(err as Error).message}`);
      return;
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      setError('The payload must be a JSON object (its fields go next to "type").');
      return;
    }
    setError(undefined);
    void studio.sendEvent(actorId, { ...(body as Record<string, unknown>), type });
  };
  const who = actorId === runId ? 'the supervisor' : actorId.slice(runId.length + 1);
  return (
    <form className="send-event" onSubmit={submit} data-testid="send-event">
      <h3>Send an event to {who}</h3>
      {!runtime && <p className="hint">This server was started without machines, so it cannot deliver events. Start it with --machines DIR.</p>}
      {runtime && !active && <p className="hint">This agent has finished; it accepts no more events (a sent one is refused and kept as a dead letter).</p>}
      <label>
        Event
        {events.length ? (
          <select value={type} onChange={(e) => setType(e.target.value)} data-testid="send-event-type">
            {events.map((e) => (
              <option key={e.type}>{e.type}</option>
            ))}
          </select>
        ) : (
          <input value={type} onChange={(e) => setType(e.target.value)} placeholder="event.type" data-testid="send-event-type" />
        )}
      </label>
      <label>
        Payload (JSON)
        <textarea className="mono" rows={4} value={payload} onChange={(e) => setPayload(e.target.value)} data-testid="send-event-payload" />
      </label>
      {error && <p className="error">{error}</p>}
      <button type="submit" disabled={!runtime || !type} data-testid="send-event-submit">
        Send
      </button>
    </form>
  );
}

/** A starting payload from a JSON Schema: each property with a placeholder of its type. */
function skeleton(schema: unknown): Record<string, unknown> {
  const properties = (schema as { properties?: Record<string, { type?: string; default?: unknown }> } | undefined)?.properties ?? {};
  const out: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(properties)) {
    if (prop.default !== undefined) out[key] = prop.default;
    else if (prop.type === 'string') out[key] = '';
    else if (prop.type === 'number' || prop.type === 'integer') out[key] = 0;
    else if (prop.type === 'boolean') out[key] = false;
    else if (prop.type === 'array') out[key] = [];
    else out[key] = null;
  }
  return out;
}
