import { useSelector } from '@xstate/store-react';
import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import type { Studio, StudioState } from '../model/Studio.js';

/** The studio model, provided once at the root. */
export const StudioContext = createContext<Studio | null>(null);

/** The studio model. */
export function useStudio(): Studio {
  const studio = useContext(StudioContext);
  if (!studio) throw new Error('useStudio must be used inside <StudioContext.Provider>.');
  return studio;
}

/** The studio's data state (re-renders on change). */
export function useStudioState(): StudioState {
  const studio = useStudio();
  return useSyncExternalStore(studio.subscribe, studio.getState);
}

/** A slice of the UI store (selection, filters, cursor). */
export function useUi<T>(select: (context: ReturnType<Studio['ui']['getSnapshot']>['context']) => T): T {
  const studio = useStudio();
  return useSelector(studio.ui, (snapshot) => select(snapshot.context));
}

/** The current time, refreshed every `everyMs` (for ages). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
