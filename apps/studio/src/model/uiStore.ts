import { createStore } from '@xstate/store';

/** Where the studio is: the runs list, one run, the cost view, the approvals inbox or the machine editor. */
export type Route = { page: 'runs' } | { page: 'run'; runId: string } | { page: 'costs' } | { page: 'approvals' } | { page: 'evals' } | { page: 'editor'; machine: string | null };

/** Filters of the runs list. */
export interface RunFilters {
  status: 'all' | 'active' | 'waiting' | 'done' | 'error' | 'stopped';
  machine: string;
  text: string;
}

/**
 * UI state that is not data: route, selection, filters and the history cursor.
 * `cursor` is an index into the open run's timeline; null follows the run live.
 */
export function createUiStore() {
  return createStore({
    context: {
      route: { page: 'runs' } as Route,
      filters: { status: 'all', machine: 'all', text: '' } as RunFilters,
      selectedActorId: null as string | null,
      cursor: null as number | null,
      costGrouping: 'agent' as 'agent' | 'model',
    },
    on: {
      navigate: (context, event: { route: Route }) =>
        sameRoute(context.route, event.route) ? context : { ...context, route: event.route, selectedActorId: null, cursor: null },
      setFilters: (context, event: Partial<RunFilters>) => ({ ...context, filters: { ...context.filters, ...event } }),
      selectActor: (context, event: { actorId: string | null }) => ({ ...context, selectedActorId: event.actorId }),
      /** Views the run as it was at one step (and selects that step's actor). */
      selectStep: (context, event: { index: number; actorId: string }) => ({ ...context, cursor: event.index, selectedActorId: event.actorId }),
      setCursor: (context, event: { cursor: number | null }) => ({ ...context, cursor: event.cursor }),
      goLive: (context) => ({ ...context, cursor: null }),
      setCostGrouping: (context, event: { grouping: 'agent' | 'model' }) => ({ ...context, costGrouping: event.grouping }),
    },
  });
}

/** The UI store type. */
export type UiStore = ReturnType<typeof createUiStore>;

function sameRoute(a: Route, b: Route): boolean {
  if (a.page === 'editor') return b.page === 'editor' && a.machine === b.machine;
  return a.page === b.page && (a.page !== 'run' || a.runId === (b as { runId: string }).runId);
}

/** Reads a route from a location hash (`#/runs/<id>`, `#/costs`, `#/approvals`, `#/editor/<machine>`). */
export function routeFromHash(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const run = /^\/runs\/(.+)$/.exec(path);
  if (run) return { page: 'run', runId: decodeURIComponent(run[1]!) };
  const editor = /^\/editor(?:\/(.+))?$/.exec(path);
  if (editor) return { page: 'editor', machine: editor[1] ? decodeURIComponent(editor[1]) : null };
  if (path === '/costs') return { page: 'costs' };
  if (path === '/approvals') return { page: 'approvals' };
  if (path === '/evals') return { page: 'evals' };
  return { page: 'runs' };
}

/** The location hash of a route. */
export function hashOf(route: Route): string {
  switch (route.page) {
    case 'run':
      return `#/runs/${encodeURIComponent(route.runId)}`;
    case 'costs':
      return '#/costs';
    case 'approvals':
      return '#/approvals';
    case 'evals':
      return '#/evals';
    case 'editor':
      return route.machine ? `#/editor/${encodeURIComponent(route.machine)}` : '#/editor';
    default:
      return '#/';
  }
}
