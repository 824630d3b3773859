import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run dev -w apps/studio` proxies the API and the live socket to a running `spine serve`
// (SPINE_URL, default http://127.0.0.1:4321).
const target = process.env.SPINE_URL ?? 'http://127.0.0.1:4321';

export default defineConfig({
  plugins: [react()],
  resolve: { conditions: ['@spine/source'] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
  server: {
    proxy: {
      '/api': target,
      '/ws': { target: target.replace(/^http/, 'ws'), ws: true },
    },
  },
});
