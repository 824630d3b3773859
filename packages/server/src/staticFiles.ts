import { existsSync, readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Serves the built studio: files under `dir`, `index.html` for every other
 * path (client-side routes). Hashed files under `assets/` are cached forever.
 * Files are read once and kept in memory (the build is small).
 */
export function staticFiles(dir: string | undefined): (path: string, res: ServerResponse) => boolean {
  const root = dir ? resolve(dir) : undefined;
  const cache = new Map<string, Buffer>();
  const read = (file: string): Buffer | undefined => {
    let body = cache.get(file);
    if (!body) {
      if (!existsSync(file) || !statSync(file).isFile()) return undefined;
      body = readFileSync(file);
      cache.set(file, body);
    }
    return body;
  };
  return (path, res) => {
    if (!root || !existsSync(join(root, 'index.html'))) {
      res.writeHead(503, { 'content-type': 'text/html; charset=utf-8' });
      res.end(NOT_BUILT);
      return true;
    }
    const decoded = safeDecode(path);
    const file = decoded === undefined ? undefined : normalize(join(root, decoded));
    const inside = file !== undefined && (file === root || file.startsWith(root + sep));
    let body = inside && extname(file!) ? read(file!) : undefined;
    let type = body ? (TYPES[extname(file!)] ?? 'application/octet-stream') : 'text/html; charset=utf-8';
    const immutable = Boolean(body) && decoded!.startsWith('/assets/');
    if (!body) {
      if (extname(decoded ?? '') && decoded !== '/index.html') return false;
      body = read(join(root, 'index.html'))!;
      type = TYPES['.html']!;
    }
    res.writeHead(200, {
      'content-type': type,
      'content-length': body.length,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
    return true;
  };
}

function safeDecode(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Spine</title>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>Spine server is running, but the studio is not built</h1>
<p>The API answers under <code>/api</code> and the live feed under <code>/ws</code>.
Build the studio with <code>npm run build -w apps/studio</code> and restart <code>spine serve</code>.</p>
</body>`;
