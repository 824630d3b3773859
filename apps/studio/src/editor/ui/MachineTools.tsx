import { machineToMermaid, machineToTypeScript } from '@spine/server/export';
import { useMemo, useState } from 'react';
import { formatStateValue } from '../../model/machineGraph.js';
import { Simulation } from '../Simulation.js';

/** Export (TypeScript, Mermaid) and Simulate, beside the editor's canvas; both read the document as edited, unsaved edits included. */
export function MachineTools({ name, config, mode, onClose }: { name: string; config: unknown; mode: 'export' | 'simulate'; onClose: () => void }) {
  return (
    <section className="card machine-tools" data-testid={`${mode}-panel`}>
      <div className="card-head">
        <h3>{mode === 'export' ? `Export ${name}` : `Simulate ${name}`}</h3>
        <span className="muted">{mode === 'export' ? 'the machine as edited here, saved or not' : 'no run, no effect: xstate’s pure transition function'}</span>
        <button className="secondary" onClick={onClose} style={{ marginLeft: 'auto' }}>
          Close
        </button>
      </div>
      {mode === 'export' ? <ExportView name={name} config={config} /> : <SimulateView config={config} />}
    </section>
  );
}

function ExportView({ name, config }: { name: string; config: unknown }) {
  const [format, setFormat] = useState<'ts' | 'mermaid'>('ts');
  const text = useMemo(() => (format === 'ts' ? machineToTypeScript(name, config) : machineToMermaid(config)), [format, name, config]);
  const file = format === 'ts' ? `${name}.machine.ts` : `${name}.mmd`;
  const href = useMemo(() => URL.createObjectURL(new Blob([text], { type: 'text/plain' })), [text]);
  return (
    <>
      <div className="form-row">
        <label>
          <input type="radio" checked={format === 'ts'} onChange={() => setFormat('ts')} data-testid="export-ts" /> TypeScript (setup().createMachine())
        </label>
        <label>
          <input type="radio" checked={format === 'mermaid'} onChange={() => setFormat('mermaid')} data-testid="export-mermaid" /> Mermaid
        </label>
        <a href={href} download={file} data-testid="export-download">
          Download {file}
        </a>
        <button className="secondary" onClick={() => void navigator.clipboard?.writeText(text)}>
          Copy
        </button>
      </div>
      <pre className="json" style={{ maxHeight: '24em' }} data-testid="export-text">
        {text}
      </pre>
      <p className="hint">Same as <code>npx spine export {name} --format {format}</code>.</p>
    </>
  );
}

function SimulateView({ config }: { config: unknown }) {
  const [contextText, setContextText] = useState('{}');
  const [sim, setSim] = useState(() => safeSimulation(config, {}));
  const [, setTick] = useState(0);
  const [payload, setPayload] = useState('{}');
  const [error, setError] = useState<string | undefined>(sim.error);
  const restart = () => {
    let context: Record<string, unknown>;
    try {
      context = JSON.parse(contextText) as Record<string, unknown>;
    } catch (e) {
      setError(`The starting context is not JSON: ${(e as Error).message}`);
      return;
    }
    const next = safeSimulation(config, context);
    setSim(next);
    setError(next.error);
  };
  const send = (type: string) => {
    if (!sim.simulation) return;
    let extra: Record<string, unknown> = {};
    try {
      extra = payload.trim() ? (JSON.parse(payload) as Record<string, unknown>) : {};
    } catch (e) {
      setError(`The payload is not JSON: ${(e as Error).message}`);
      return;
    }
    try {
      sim.simulation.send({ ...extra, type });
      setError(undefined);
    } catch (e) {
      setError((e as Error).message);
    }
    setTick((n) => n + 1);
  };
  const simulation = sim.simulation;
  const current = simulation?.current;
  return (
    <div className="simulate" data-testid="simulate">
      <div className="form-row">
        <label className="grow">
          starting context (JSON){' '}
          <input className="mono grow" value={contextText} onChange={(e) => setContextText(e.target.value)} data-testid="simulate-context" />
        </label>
        <button className="secondary" onClick={restart} data-testid="simulate-restart">
          Restart
        </button>
      </div>
      {error && <p className="error">{error}</p>}
      {simulation && current && (
        <>
          <dl className="facts">
            <dt>State</dt>
            <dd className="mono" data-testid="simulate-state">
              {formatStateValue(current.value)}
              {current.status === 'done' ? ' (final)' : ''}
            </dd>
            <dt>Context</dt>
            <dd className="mono" data-testid="simulate-context-now">
              {JSON.stringify(current.context)}
            </dd>
            <dt>Would do</dt>
            <dd data-testid="simulate-actions">{current.actions.length ? current.actions.join(' · ') : <span className="muted">nothing</span>}</dd>
          </dl>
          {simulation.names.guards.length > 0 && (
            <div className="form-row">
              <span className="muted">guards:</span>
              {simulation.names.guards.map((g) => (
                <label key={g}>
                  <input type="checkbox" defaultChecked={simulation.guards[g] !== false} onChange={(e) => (simulation.guards[g] = e.target.checked)} /> {g}
                </label>
              ))}
            </div>
          )}
          <div className="form-row">
            <input className="mono grow" aria-label="Event payload (JSON)" value={payload} onChange={(e) => setPayload(e.target.value)} data-testid="simulate-payload" />
          </div>
          <div className="form-row" data-testid="simulate-events">
            {current.next.length ? (
              current.next.map((type) => (
                <button key={type} className="secondary mono" onClick={() => send(type)} data-testid="simulate-event" data-event={type}>
                  {type}
                </button>
              ))
            ) : (
              <span className="muted">No event moves the machine from here.</span>
            )}
          </div>
          <ol className="simulate-steps" data-testid="simulate-steps">
            {simulation.steps.map((s, i) => (
              <li key={i} className="mono">
                {s.event.type} → {formatStateValue(s.value)}
                {s.actions.length ? ` · ${s.actions.join(', ')}` : ''}
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}

function safeSimulation(config: unknown, context: Record<string, unknown>): { simulation?: Simulation; error?: string } {
  try {
    return { simulation: new Simulation(config, { context }) };
  } catch (error) {
    return { error: `This machine cannot be simulated as it stands: ${(error as Error).message}` };
  }
}
