import type { MachineJson, MoveActorJson } from '@spine/server/protocol';
import { useState } from 'react';
import type { Studio } from '../../model/Studio.js';

/**
 * The version an actor runs on, and, when its machine has a newer current version,
 * a button to move it there (the server refuses, naming the state, if the actor's
 * current state does not exist in that version).
 */
export function VersionMove({ studio, actorId, version, active, machine }: { studio: Studio; actorId: string; version: string | undefined; active: boolean; machine: MachineJson | undefined }) {
  const [message, setMessage] = useState<{ kind: 'info' | 'error'; text: string } | undefined>();
  const [busy, setBusy] = useState(false);
  if (!version) return null;
  const current = machine?.runnable ? machine.current : null;
  const behind = active && current !== null && current !== version;
  return (
    <span className="version-move" data-testid="actor-version">
      <span className="muted mono">v {version}</span>
      {behind && (
        <button
          disabled={busy}
          title={`Move this agent to ${machine!.name}@${current}, the version new runs use`}
          onClick={() => {
            setBusy(true);
            studio
              .request<MoveActorJson>({ type: 'moveActor', actorId })
              .then((r) => setMessage({ kind: 'info', text: `Moved to ${r.to}.` }))
              .catch((e: Error) => setMessage({ kind: 'error', text: e.message }))
              .finally(() => setBusy(false));
          }}
          data-testid="move-version"
        >
          Move to current version
        </button>
      )}
      {message && (
        <span className={message.kind === 'error' ? 'error' : 'muted'} role={message.kind === 'error' ? 'alert' : 'status'}>
          {message.text}
        </span>
      )}
    </span>
  );
}
