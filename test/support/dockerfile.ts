import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { promisify } from 'node:util';

/**
 * The Dockerfile as data, and its stages performed outside a container: no container runtime
 * works on these machines, so the image tests run the Dockerfile's own steps (COPY from a
 * context filtered by .dockerignore, COPY --from, WORKDIR, ENV, RUN) in a directory per stage.
 * Only what this project's Dockerfile uses is understood; anything else is an error, so a new
 * instruction cannot slip past the tests unperformed.
 */

export interface Instruction {
  op: string;
  /** The text after the keyword, continuation lines joined. */
  args: string;
  line: number;
}

export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARG defaults declared before the first FROM. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const logical: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (pending === undefined && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (pending !== undefined && trimmed.startsWith('#')) return;
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1) : trimmed;
    pending = pending ? { text: `${pending.text} ${part}`, line: pending.line } : { text: part, line: i + 1 };
    if (!continued) {
      const m = /^(\S+)\s*(.*)$/s.exec(pending.text.trim())!;
      logical.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: pending.line });
      pending = undefined;
    }
  });
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of logical) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`Dockerfile line ${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ from: substitute(m[1]!, globalArgs), name: m[2], instructions: [] });
    } else if (stages.length === 0) {
      if (ins.op !== 'ARG') throw new Error(`Dockerfile line ${ins.line}: ${ins.op} before the first FROM`);
      const [k, v] = splitAssignment(ins.args);
      globalArgs[k] = v ?? '';
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/** An exec-form (JSON array) argument, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
}

/** KEY=value pairs (ENV, LABEL, ARG), values optionally double-quoted. */
export function assignments(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of args.matchAll(/([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    out[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  }
  return out;
}

function splitAssignment(args: string): [string, string | undefined] {
  const at = args.indexOf('=');
  return at < 0
    ? [args.trim(), undefined]
    : [
        args.slice(0, at).trim(),
        args
          .slice(at + 1)
          .trim()
          .replace(/^"(.*)"$/, '$1'),
      ];
}

function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => vars[(a ?? b)!] ?? '');
}

/** .dockerignore: patterns relative to the context root, `*`, `?`, `**`, and `!` exceptions; the last match wins. */
export class DockerIgnore {
  private readonly rules: { negate: boolean; re: RegExp }[];

  constructor(text: string) {
    this.rules = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => {
        const negate = l.startsWith('!');
        const pattern = posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/+$/, '');
        const body = pattern
          .split(/(\*\*\/?|\*|\?)/)
          .map((t) => (t === '**' || t === '**/' ? '(?:.*/)?' + (t === '**' ? '.*' : '') : t === '*' ? '[^/]*' : t === '?' ? '[^/]' : t.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
          .join('');
        return { negate, re: new RegExp(`^${body}$`) };
      });
  }

  /** Whether a context path (posix, relative) is left out; a path under an excluded directory is too. */
  excludes(path: string): boolean {
    let excluded = false;
    const parts = path.split('/');
    for (const rule of this.rules) {
      for (let i = 1; i <= parts.length; i++) {
        if (rule.re.test(parts.slice(0, i).join('/'))) {
          excluded = !rule.negate;
          break;
        }
      }
    }
    return excluded;
  }
}

/** The relative paths of the files a `docker build` of `root` would send as its context. */
export function contextFiles(root: string): string[] {
  const ignore = new DockerIgnore(readFileSync(join(root, '.dockerignore'), 'utf8'));
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        // An excluded directory is skipped whole (no `!` rule here re-includes anything under one).
        if (!ignore.excludes(path)) walk(path);
      } else if (!ignore.excludes(path)) {
        out.push(path);
      }
    }
  };
  walk('');
  return out.sort();
}

export interface BuiltStage {
  name: string;
  /** The stage's filesystem root on this machine; image path /x is join(root, x). */
  root: string;
  workdir: string;
  env: Record<string, string>;
  labels: Record<string, string>;
  user?: string;
  cmd?: string[];
  expose: string[];
  healthcheck?: string;
}

const run = promisify(execFile);

/**
 * Performs every stage of the Dockerfile in `out/<stage>`: COPY from the context (the files
 * contextFiles lists), COPY --from=<stage>, WORKDIR, ENV, ARG, RUN (with `sh -c` in the stage's
 * working directory; a RUN step must not use absolute paths, which would leave the stage).
 * Metadata (USER, CMD, EXPOSE, HEALTHCHECK, LABEL) is recorded. Returns every stage, the final one last.
 */
export async function buildStages(contextRoot: string, dockerfile: Dockerfile, out: string, log: (line: string) => void = () => {}): Promise<BuiltStage[]> {
  const files = contextFiles(contextRoot);
  const built: BuiltStage[] = [];
  for (const [index, stage] of dockerfile.stages.entries()) {
    const s: BuiltStage = { name: stage.name ?? String(index), root: join(out, stage.name ?? `stage-${index}`), workdir: '/', env: {}, labels: {}, expose: [] };
    mkdirSync(s.root, { recursive: true });
    const args: Record<string, string> = { ...dockerfile.globalArgs };
    const host = (p: string) => join(s.root, posix.resolve(s.workdir, p));
    for (const ins of stage.instructions) {
      // Docker substitutes variables in every instruction but RUN, whose shell does it.
      const text = ins.op === 'RUN' ? ins.args : substitute(ins.args, { ...args, ...s.env });
      switch (ins.op) {
        case 'WORKDIR':
          s.workdir = posix.resolve(s.workdir, text);
          mkdirSync(host('.'), { recursive: true });
          break;
        case 'ARG': {
          const [k, v] = splitAssignment(text);
          args[k] = v ?? args[k] ?? '';
          break;
        }
        case 'ENV':
          Object.assign(s.env, assignments(text));
          break;
        case 'LABEL':
          Object.assign(s.labels, assignments(text));
          break;
        case 'COPY': {
          const words = text.split(/\s+/);
          const from = words[0]!.startsWith('--from=') ? words.shift()!.slice('--from='.length) : undefined;
          if (words.some((w) => w.startsWith('--'))) throw new Error(`Dockerfile line ${ins.line}: COPY flag not performed here: ${text}`);
          const dest = words.pop()!;
          for (const src of words)
            copyInto(from === undefined ? { root: contextRoot, files } : { root: built.find((b) => b.name === from)!.root, workdir: '/' }, src, host(dest), dest.endsWith('/') || words.length > 1);
          break;
        }
        case 'RUN':
          if (execForm(text)) throw new Error(`Dockerfile line ${ins.line}: exec-form RUN not performed here`);
          log(`[${s.name}] RUN ${text}`);
          await run('sh', ['-c', text], { cwd: host('.'), env: { ...process.env, ...s.env }, maxBuffer: 64 * 1024 * 1024 });
          break;
        case 'USER':
          s.user = text;
          break;
        case 'CMD':
          s.cmd = execForm(text) ?? ['sh', '-c', text];
          break;
        case 'EXPOSE':
          s.expose.push(...text.split(/\s+/));
          break;
        case 'HEALTHCHECK':
          s.healthcheck = text;
          break;
        case 'STOPSIGNAL':
          break;
        default:
          throw new Error(`Dockerfile line ${ins.line}: ${ins.op} is not performed by the image-steps test`);
      }
    }
    built.push(s);
  }
  return built;
}

/** COPY semantics: a directory source copies its contents; a file goes into a directory destination. */
function copyInto(source: { root: string; files: string[] } | { root: string; workdir: string }, src: string, dest: string, destIsDir: boolean): void {
  const rel = posix.normalize(src).replace(/^\/+/, '').replace(/\/+$/, '');
  if ('files' in source) {
    const under = source.files.filter((f) => f === rel || f.startsWith(`${rel}/`));
    if (under.length === 0) throw new Error(`COPY ${src}: not in the build context (excluded by .dockerignore?)`);
    for (const f of under) {
      const target = f === rel ? (destIsDir ? join(dest, posix.basename(f)) : dest) : join(dest, relative(rel, f));
      mkdirSync(dirname(target), { recursive: true });
      cpSync(join(source.root, f), target);
    }
    return;
  }
  const from = join(source.root, rel);
  if (statSync(from).isDirectory()) cpSync(from, dest, { recursive: true, verbatimSymlinks: true });
  else {
    const target = destIsDir ? join(dest, posix.basename(rel)) : dest;
    mkdirSync(dirname(target), { recursive: true });
    cpSync(from, target);
  }
}
