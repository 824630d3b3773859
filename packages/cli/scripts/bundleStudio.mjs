// Run by `npm pack` (prepack): copies the built studio into this package's studio/ so an installed
// @spine/cli serves it with no monorepo around it. Builds the studio first when it is not built.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..');
const studioApp = join(cli, '..', '..', 'apps', 'studio');
const built = join(studioApp, 'dist');

if (!existsSync(join(built, 'index.html'))) {
  if (!existsSync(join(studioApp, 'package.json'))) {
    throw new Error(`@spine/cli prepack: the studio app is not at ${studioApp}; pack @spine/cli from the Spine monorepo.`);
  }
  execFileSync('npm', ['run', 'build'], { cwd: studioApp, stdio: 'inherit' });
}
const target = join(cli, 'studio');
rmSync(target, { recursive: true, force: true });
cpSync(built, target, { recursive: true });
console.log(`@spine/cli: bundled the studio from ${built}`);
