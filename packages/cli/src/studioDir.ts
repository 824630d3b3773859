import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The studio this CLI serves: the copy packed into an installed `@spine/cli` (`studio/`, put there by
 * `npm pack`), or undefined in the monorepo, where `@spine/server` finds `apps/studio/dist` itself.
 */
export function bundledStudioDir(): { studioDir: string } | Record<string, never> {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'studio');
  return existsSync(join(dir, 'index.html')) ? { studioDir: dir } : {};
}
