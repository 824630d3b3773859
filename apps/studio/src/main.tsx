import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Studio } from './model/Studio.js';
import { App } from './ui/App.js';
import { StudioContext } from './ui/hooks.js';
import './styles.css';

const studio = new Studio();
studio.start();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <StudioContext.Provider value={studio}>
      <App />
    </StudioContext.Provider>
  </StrictMode>,
);
