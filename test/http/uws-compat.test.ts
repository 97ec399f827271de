import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import uWS from 'uWebSockets.js';
import { KNOWN, Refusal, retargetC23, sha256 } from '../../scripts/uws-glibc-compat.mjs';

const uwsDir = dirname(createRequire(import.meta.url).resolve('uWebSockets.js'));
const script = join(process.cwd(), 'scripts/uws-glibc-compat.mjs');
const binary = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;

function run(args: string[], env: Record<string, string> = {}): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync(process.execPath, [script, ...args], { encoding: 'utf8', stdio: 'pipe', env: { ...process.env, ...env } }) };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: e.stdout + e.stderr };
  }
}

describe('uWebSockets.js on this machine', () => {
  it('loads and serves HTTP', async () => {
    const app = uWS.App().get('/*', (res) => void res.end('served'));
    const port = await new Promise<number>((resolve, reject) => app.listen('127.0.0.1', 0, (socket) => (socket ? resolve(uWS.us_socket_local_port(socket)) : reject(new Error('listen failed')))));
    try {
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).to.equal('served');
    } finally {
      app.close();
    }
  });

  it('runs a binary the compatibility step either left alone or patched to a known digest', () => {
    const known = KNOWN[binary];
    if (!known) return; // not a Linux binary the step covers (macOS, Windows)
    expect(known).to.include(sha256(readFileSync(join(uwsDir, binary))));
  });
});

describe('glibc compatibility step', () => {
  const linuxX64 = Object.keys(KNOWN).filter((f) => f.startsWith('uws_linux_x64_'));

  function copyInstalled(): string {
    const dir = mkdtempSync(join(tmpdir(), 'uws-compat-'));
    for (const f of linuxX64) copyFileSync(join(uwsDir, f), join(dir, f));
    return dir;
  }

  it('patches the published binaries, or leaves ones it has already patched as they are', () => {
    const dir = copyInstalled();
    const before = linuxX64.map((f) => sha256(readFileSync(join(dir, f))));
    const { code, out } = run(['--force', dir], { UWS_COMPAT_GLIBC: '2.36' });
    expect(code).to.equal(0);
    linuxX64.forEach((f, i) => {
      const [original, patched] = KNOWN[f]!;
      expect(sha256(readFileSync(join(dir, f)))).to.equal(patched);
      expect(out).to.include(before[i] === original ? `${f}: retargeted` : `${f}: already patched`);
    });
  });

  it('refuses, and touches nothing, when a binary matches no known digest', () => {
    const dir = copyInstalled();
    const target = join(dir, 'uws_linux_x64_115.node');
    const bytes = readFileSync(target);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(target, bytes);
    const { code, out } = run(['--force', dir], { UWS_COMPAT_GLIBC: '2.36' });
    expect(code).to.equal(1);
    expect(out).to.match(/refused: uws_linux_x64_115\.node: sha256 [0-9a-f]{64} matches neither the published nor the patched binary/);
    expect(readFileSync(target).equals(bytes)).to.equal(true);
  });

  it('refuses an ELF that has no GLIBC_2.38 requirement rather than guessing', () => {
    const patched = readFileSync(join(uwsDir, binary));
    const needs238 = () => retargetC23(patched, 'GLIBC_2.2.5');
    if (sha256(patched) === KNOWN[binary]?.[1]) expect(needs238).to.throw(Refusal, /no GLIBC_2.38 requirement/);
    expect(() => retargetC23(Buffer.from('not an elf at all, just text'), 'GLIBC_2.2.5')).to.throw(Refusal, /not a little-endian ELF64/);
  });

  it('does nothing where glibc is 2.38 or newer', () => {
    const dir = copyInstalled();
    const before = linuxX64.map((f) => sha256(readFileSync(join(dir, f))));
    const { code, out } = run([dir], { UWS_COMPAT_GLIBC: '2.41' });
    expect(code).to.equal(0);
    expect(out).to.include('glibc 2.41 >= 2.38, nothing to do');
    expect(linuxX64.map((f) => sha256(readFileSync(join(dir, f))))).to.deep.equal(before);
  });
});
