#!/usr/bin/env node
// uWebSockets.js 20.57.0 ships Linux binaries linked against glibc 2.38, but only for three
// C23 symbols (__isoc23_strtol/strtoul/sscanf) whose behaviour matches the classic ones for the
// inputs uWS parses. On glibc < 2.38 we retarget those imports to the classic symbols: the classic
// names are suffixes of the C23 names in .dynstr, so only the .dynsym name offsets and the one
// GLIBC_2.38 version-needed entry change. Every binary is checked against known sha256 digests
// before and after, so nothing we have not inspected is ever modified.
//
// Usage: node scripts/uws-glibc-compat.mjs [--check] [--force] [dir]
//   --check  report what would be done, change nothing (exit 1 if a binary would need patching)
//   --force  patch even where glibc >= 2.38 (used by tests on a copy)
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync, existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const C23_PREFIX = '__isoc23_';
const C23_VERSION = 'GLIBC_2.38';
// The version the classic symbols carry on each architecture's oldest glibc ABI.
const BASE_VERSION = { x64: 'GLIBC_2.2.5', arm64: 'GLIBC_2.17' };

// original sha256 -> patched sha256, per shipped Linux binary of @btc-vision/uwebsockets.js@20.57.0.
const KNOWN = {
  'uws_linux_x64_115.node': ['5b126ee00bf754b02e97e4c27090365a8562c5820c93f93918ac2212d4503e91', '0fdb9722352c4e0f519b42ad8b0c2bd4544b2c27484c1d49ddf143bfd1637cbb'],
  'uws_linux_x64_127.node': ['4b55b1f2cb7a7913febbb65a89496412b96af77e838552980092ba6b33723aac', '4ea0943df7d3202b3ada5eb01c40c37c63bb192fd9c7b1abae5082c5cc1f2803'],
  'uws_linux_x64_137.node': ['98128405dba2fb608448e921a979530f70c946a2cc9889c15f2fa70c2d00ab05', '8d5817f3a52803cb69a0e3d54f6487b533fda603aa63dab8ea09f9762d992e0b'],
  'uws_linux_x64_141.node': ['813d788b347c6fd76b779d8932311ec05a044e612b4b83af220f16e6ea789683', '395fee5c7a644ad0964cc26651b5dd12833c147123c69dbe938fe17eb13a2760'],
  'uws_linux_arm64_115.node': ['6bdbc8ff976b4371af1906175e9025804bacc38a414969f4f02314e6b99f206c', '68016401b908e59200b227ade8fe6b36bc9f8e30892e54cefd590a960612d7a6'],
  'uws_linux_arm64_127.node': ['82b79bd18d1e3563de336156005bd01b7f39fc387b65173d69a29da4ee79f895', 'b28ee349e8a15aa5fd30988fc3935eb1b8898e44f27f2ae903ad9e959567c1e6'],
  'uws_linux_arm64_137.node': ['88618b30ddf6b2b62310db89f40a701616676352aac5e0f6184dd8ef876199ce', '84c03ca18de632e52cce378f073f8b008c0817c957d2e475284ce08f75c88a77'],
  'uws_linux_arm64_141.node': ['81d0186dd1549ed6a7f47e68e323573fc27d69d2920527654ce2dd993af2b0ec', 'de517c5f4cd31f4431fc07e2eb212924b0cd02e770679a36ed063b6b47c1c017'],
};

const SHT_DYNSYM = 11;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;

class Refusal extends Error {}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

function elfHash(name) {
  let h = 0;
  for (const c of Buffer.from(name, 'latin1')) {
    h = ((h << 4) + c) >>> 0;
    const g = h & 0xf0000000;
    if (g) h ^= g >>> 24;
    h &= ~g >>> 0;
  }
  return h >>> 0;
}

function cstr(buf, off) {
  const end = buf.indexOf(0, off);
  if (end < 0) throw new Refusal(`unterminated string at ${off}`);
  return buf.toString('latin1', off, end);
}

function sections(buf) {
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) {
    throw new Refusal('not a little-endian ELF64 file');
  }
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const list = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    list.push({
      type: buf.readUInt32LE(o + 4),
      offset: Number(buf.readBigUInt64LE(o + 24)),
      size: Number(buf.readBigUInt64LE(o + 32)),
      link: buf.readUInt32LE(o + 40),
      info: buf.readUInt32LE(o + 44),
    });
  }
  const one = (type, what) => {
    const found = list.filter((s) => s.type === type);
    if (found.length !== 1) throw new Refusal(`expected one ${what} section, found ${found.length}`);
    return found[0];
  };
  const dynsym = one(SHT_DYNSYM, '.dynsym');
  return { dynsym, dynstr: list[dynsym.link], versym: one(SHT_GNU_VERSYM, '.gnu.version'), verneed: one(SHT_GNU_VERNEED, '.gnu.version_r') };
}

/** Returns a patched copy of an ELF image, or throws Refusal when anything is not as expected. */
export function retargetC23(input, baseVersion) {
  const buf = Buffer.from(input);
  const { dynsym, dynstr, versym, verneed } = sections(buf);
  const str = (off) => cstr(buf, dynstr.offset + off);

  // Find the GLIBC_2.38 requirement and the base version's name offset in libc.so.6's list.
  let c23Aux = -1;
  let c23Index = -1;
  let baseNameOff = -1;
  for (let vn = verneed.offset, n = 0; n < verneed.info; n++) {
    const file = str(buf.readUInt32LE(vn + 4));
    let aux = vn + buf.readUInt32LE(vn + 8);
    for (let k = 0; k < buf.readUInt16LE(vn + 2); k++) {
      const name = str(buf.readUInt32LE(aux + 8));
      if (name === C23_VERSION) {
        if (file !== 'libc.so.6' || c23Aux >= 0) throw new Refusal(`unexpected ${C23_VERSION} requirement in ${file}`);
        c23Aux = aux;
        c23Index = buf.readUInt16LE(aux + 6) & 0x7fff;
      }
      if (name === baseVersion && file === 'libc.so.6') baseNameOff = buf.readUInt32LE(aux + 8);
      aux += buf.readUInt32LE(aux + 12);
    }
    vn += buf.readUInt32LE(vn + 12);
  }
  if (c23Aux < 0) throw new Refusal(`no ${C23_VERSION} requirement (already patched?)`);
  if (baseNameOff < 0) throw new Refusal(`libc.so.6 ${baseVersion} requirement not found`);

  // Every symbol bound to GLIBC_2.38 must be one of the C23 functions we know how to retarget.
  const count = dynsym.size / 24;
  let retargeted = 0;
  for (let i = 0; i < count; i++) {
    if ((buf.readUInt16LE(versym.offset + i * 2) & 0x7fff) !== c23Index) continue;
    const at = dynsym.offset + i * 24;
    const nameOff = buf.readUInt32LE(at);
    const name = str(nameOff);
    if (!['__isoc23_strtol', '__isoc23_strtoul', '__isoc23_sscanf'].includes(name)) {
      throw new Refusal(`symbol ${name} needs ${C23_VERSION}; refusing to guess a replacement`);
    }
    buf.writeUInt32LE(nameOff + C23_PREFIX.length, at);
    retargeted++;
  }
  if (retargeted === 0) throw new Refusal(`no symbol uses ${C23_VERSION}`);

  buf.writeUInt32LE(elfHash(baseVersion), c23Aux);
  buf.writeUInt32LE(baseNameOff, c23Aux + 8);
  return buf;
}

function glibcVersion() {
  // An override, so the decision can be tested on any machine.
  if (process.env.UWS_COMPAT_GLIBC) return process.env.UWS_COMPAT_GLIBC;
  if (process.platform !== 'linux') return null;
  const v = process.report?.getReport()?.header?.glibcVersionRuntime;
  return typeof v === 'string' ? v : null;
}

const older = (v, than) => {
  const [a, b] = v.split('.').map(Number);
  const [c, d] = than.split('.').map(Number);
  return a < c || (a === c && b < d);
};

function uwsDir() {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve('uWebSockets.js'));
  } catch {
    return null;
  }
}

function main(argv) {
  const check = argv.includes('--check');
  const force = argv.includes('--force');
  const dir = argv.find((a) => !a.startsWith('--')) ?? uwsDir();
  const say = (msg) => console.log(`uws-glibc-compat: ${msg}`);

  const glibc = glibcVersion();
  if (!force && (glibc === null || !older(glibc, '2.38'))) {
    say(glibc ? `glibc ${glibc} >= 2.38, nothing to do` : 'not glibc Linux, nothing to do');
    return 0;
  }
  if (!dir || !existsSync(dir)) {
    say('uWebSockets.js is not installed, nothing to do');
    return 0;
  }
  const arch = process.arch;
  const base = BASE_VERSION[arch];
  if (!base) {
    say(`no compatibility patch for ${arch}; uWebSockets.js needs glibc 2.38 there`);
    return 0;
  }

  const files = readdirSync(dir).filter((f) => f.startsWith(`uws_linux_${arch}_`) && f.endsWith('.node'));
  let pending = 0;
  for (const file of files) {
    const path = join(dir, file);
    const known = KNOWN[file];
    const bytes = readFileSync(path);
    const digest = sha256(bytes);
    if (!known) throw new Refusal(`${file}: not a binary this script knows (sha256 ${digest})`);
    const [original, patched] = known;
    if (digest === patched) {
      say(`${file}: already patched`);
      continue;
    }
    if (digest !== original) {
      throw new Refusal(`${file}: sha256 ${digest} matches neither the published nor the patched binary`);
    }
    if (check) {
      say(`${file}: needs patching for glibc ${glibc}`);
      pending++;
      continue;
    }
    const out = retargetC23(bytes, base);
    const outDigest = sha256(out);
    if (outDigest !== patched) throw new Refusal(`${file}: patched sha256 ${outDigest} is not the expected ${patched}`);
    const tmp = `${path}.compat-${process.pid}`;
    writeFileSync(tmp, out, { mode: 0o755 });
    renameSync(tmp, path);
    say(`${file}: retargeted ${C23_VERSION} C23 imports to ${base} (glibc ${glibc ?? 'forced'})`);
  }
  return check && pending > 0 ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    console.error(`uws-glibc-compat: refused: ${err.message}. uWebSockets.js was left untouched; it needs glibc >= 2.38 or a known binary.`);
    process.exitCode = 1;
  }
}

export { KNOWN, elfHash, sha256, Refusal };
