import { lazy, Suspense, useEffect, useState } from 'react';
import { ApprovalsPage } from './ApprovalsPage.js';
import { CostsPage } from './CostsPage.js';
import { EvalsPage } from './EvalsPage.js';
import { useStudio, useStudioState, useUi } from './hooks.js';
import { RunsPage } from './RunsPage.js';

// The run view brings the diagram libraries (React Flow, ELK); the first screen does not wait for them.
const loadRunView = () => import('./RunView.js');
const RunView = lazy(() => loadRunView().then((m) => ({ default: m.RunView })));
// The machine editor brings the same libraries and is opened less often: loaded on demand.
const EditorPage = lazy(() => import('../editor/ui/EditorPage.js').then((m) => ({ default: m.EditorPage })));

/** Once the first screen is up, fetch the run view and the layout engine in the background. */
function prefetchRunView(): void {
  const idle = (window as { requestIdleCallback?: (cb: () => void) => void }).requestIdleCallback ?? ((cb: () => void) => setTimeout(cb, 200));
  idle(() => void loadRunView().then((m) => m.prefetchLayout()));
}

/** The studio shell: header with navigation and connection state, the page, and notices. */
export function App() {
  const studio = useStudio();
  const route = useUi((c) => c.route);
  const { connection, runs, approvals } = useStudioState();
  // Pending approvals: from the inbox when it is loaded (it is newer), else from the runs list.
  const waiting = approvals?.approvals.length ?? Object.values(runs).reduce((n, r) => n + (r.waitingFor?.length ?? 0), 0);
  useEffect(prefetchRunView, []);
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/" onClick={() => studio.navigate({ page: 'runs' })}>
          <span className="brand-mark" aria-hidden />
          Spine <span className="brand-sub">studio</span>
        </a>
        <nav>
          <a href="#/" className={route.page === 'runs' || route.page === 'run' ? 'active' : ''}>
            Runs
          </a>
          <a href="#/costs" className={route.page === 'costs' ? 'active' : ''}>
            Costs
          </a>
          <a href="#/approvals" className={route.page === 'approvals' ? 'active' : ''}>
            Approvals
            {waiting > 0 && (
              <span className="nav-count" data-testid="approvals-count" title={`${waiting} waiting for a person`}>
                {waiting}
              </span>
            )}
          </a>
          <a href="#/evals" className={route.page === 'evals' ? 'active' : ''}>
            Evals
          </a>
          <a href="#/editor" className={route.page === 'editor' ? 'active' : ''}>
            Editor
          </a>
        </nav>
        <span className={`connection ${connection}`} data-testid="connection" title="The live connection to the Spine server">
          {connection === 'open' ? 'live' : connection === 'connecting' ? 'connecting…' : 'offline — reconnecting'}
        </span>
      </header>
      <main>
        {route.page === 'runs' && <RunsPage />}
        {route.page === 'run' && (
          <Suspense fallback={<p className="muted pad">Loading the run view…</p>}>
            <RunView runId={route.runId} />
          </Suspense>
        )}
        {route.page === 'costs' && <CostsPage />}
        {route.page === 'approvals' && <ApprovalsPage />}
        {route.page === 'evals' && <EvalsPage />}
        {route.page === 'editor' && (
          <Suspense fallback={<p className="muted pad">Loading the editor…</p>}>
            <EditorPage machine={route.machine} />
          </Suspense>
        )}
      </main>
      <Notice />
    </div>
  );
}

function Notice() {
  const { notice } = useStudioState();
  const [hidden, setHidden] = useState<number | undefined>();
  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => setHidden(notice.id), notice.kind === 'error' ? 9000 : 4000);
    return () => clearTimeout(timer);
  }, [notice]);
  if (!notice || hidden === notice.id) return null;
  return (
    <div className={`notice ${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'} data-testid="notice">
      {notice.text}
      <button className="link" onClick={() => setHidden(notice.id)} aria-label="Dismiss">
        ×
      </button>
    </div>
  );
}
