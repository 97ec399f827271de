import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const run = promisify(execFile);

/** A new temporary directory other users may enter (mkdtemp makes it 0700), for a process run as one. */
export function openTempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `fsg-${label}-`));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * What a fresh clone holds: the files git tracks, plus new ones it does not ignore (so the test
 * also sees work not yet committed), copied to a new directory. Nothing built, nothing installed.
 */
export async function freshCopy(label: string): Promise<string> {
  const dir = openTempDir(label);
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
  for (const file of stdout.split('\0').filter(Boolean)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    try {
      cpSync(join(REPO_ROOT, file), join(dir, file));
    } catch (err) {
      // A tracked file deleted in the work tree is not in a clone of it either.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return dir;
}

/** The environment a shell on this machine gives a process: PATH and HOME, no test settings. */
export function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  if (process.env.HOME) env.HOME = process.env.HOME;
  return { ...env, ...extra };
}
