// Builds apps/studio only when its dist is missing or older than its sources, so `npm start`
// (prestart) costs a second when nothing changed. The TypeScript packages are built by `tsc -b`,
// which is incremental on its own.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const studio = join(root, 'apps/studio');
const built = join(studio, 'dist/index.html');
const newest = (path) => {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
};
const sources = ['src', 'index.html', 'vite.config.ts', 'package.json'].map((p) => join(studio, p)).filter(existsSync);
const serverProtocol = join(root, 'packages/server/src/protocol.ts');
if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newest), statSync(serverProtocol).mtimeMs)) {
  process.exit(0);
}
console.log('building the studio (apps/studio changed since its last build)…');
const result = spawnSync('npm', ['run', 'build', '-w', 'apps/studio'], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
