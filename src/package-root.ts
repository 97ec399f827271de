import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NAME = 'fhir-subscription-gateway';

/**
 * The directory holding this package's package.json, found by walking up from this file, so
 * files shipped beside the code (the console's assets) are found the same way whether the code
 * runs from src/ through tsx or compiled into dist/.
 */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === NAME) return dir;
      } catch {
        // An unreadable package.json on the way up is not ours; keep walking.
      }
    }
    if (dirname(dir) === dir) throw new Error(`cannot find the ${NAME} package root above ${from}`);
  }
}
