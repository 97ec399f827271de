// `npm run build`: compiles src/ to dist/ with tsc, then copies the non-TypeScript files the
// runtime reads next to its modules (the generated search-parameter tables). dist/ is rebuilt from
// nothing each time, so a file deleted from src/ never lingers in it.
//
// `--if-compiler` (the `prepare` script, run by every `npm ci`): a production install
// (`npm ci --omit=dev`, as in the image) has no TypeScript, and must not fail for it; it says so
// and leaves dist/ to the build that made it.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

/** Directories under src/ whose JSON the compiled code reads through import.meta.url. */
const ASSET_DIRS = ['fhir/generated'];

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  if (!process.argv.includes('--if-compiler')) throw new Error('build: typescript is not installed; run `npm ci` (with dev dependencies) first');
  process.stdout.write('build: no TypeScript compiler (a production install): dist/ is not rebuilt\n');
  process.exit(0);
}
rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
for (const dir of ASSET_DIRS) {
  mkdirSync(join(dist, dir), { recursive: true });
  for (const name of readdirSync(join(root, 'src', dir)).filter((n) => n.endsWith('.json'))) {
    cpSync(join(root, 'src', dir, name), join(dist, dir, name));
  }
}
