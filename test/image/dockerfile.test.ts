import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assignments, contextFiles, DockerIgnore, execForm, parseDockerfile, type Instruction } from '../support/dockerfile.js';
import { REPO_ROOT } from '../support/fresh-copy.js';

// What operators and their automation rely on in the image (design.md, "Deployment contract"),
// read from the Dockerfile itself. test/image/image-steps.test.ts performs its steps.
describe('the Dockerfile', () => {
  const dockerfile = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
  const final = dockerfile.stages.at(-1)!;
  const all = (op: string, stage = final): Instruction[] => stage.instructions.filter((i) => i.op === op);
  const last = (op: string): Instruction => {
    const found = all(op).at(-1);
    if (!found) throw new Error(`the final stage has no ${op}`);
    return found;
  };

  it('is multi-stage, every stage on Node 24 and Debian trixie slim', () => {
    expect(dockerfile.stages.length).to.be.greaterThan(1);
    for (const stage of dockerfile.stages) expect(stage.from).to.match(/^(docker\.io\/library\/)?node:24([.\d]*)?-trixie-slim(@sha256:[0-9a-f]{64})?$/);
  });

  it('runs as a numeric non-root user and group', () => {
    const user = last('USER').args;
    expect(user).to.match(/^\d+:\d+$/);
    expect(
      user
        .split(':')
        .map(Number)
        .every((n) => n > 0),
    ).to.equal(true);
    // Nothing runs as root after the switch.
    const at = final.instructions.indexOf(last('USER'));
    expect(final.instructions.slice(at).filter((i) => i.op === 'RUN')).to.deep.equal([]);
  });

  it('runs node dist/main.js in exec form, so node is PID 1 and gets the signals', () => {
    expect(all('ENTRYPOINT')).to.deep.equal([]);
    expect(execForm(last('CMD').args)).to.deep.equal(['node', 'dist/main.js']);
    const stop = all('STOPSIGNAL').at(-1)?.args;
    expect(stop === undefined || stop === 'SIGTERM').to.equal(true);
  });

  it('exposes 8080, the default PORT', () => {
    expect(all('EXPOSE').map((i) => i.args)).to.deep.equal(['8080']);
    const env = Object.assign({}, ...all('ENV').map((i) => assignments(i.args))) as Record<string, string>;
    expect(env.PORT ?? '8080').to.equal('8080');
  });

  it('requires FHIR_UPSTREAM_URL unless the demo is asked for, and runs in production mode', () => {
    const env = Object.assign({}, ...all('ENV').map((i) => assignments(i.args))) as Record<string, string>;
    expect(env.DEMO_UPSTREAM).to.equal('false');
    expect(env.NODE_ENV).to.equal('production');
    expect(env.FHIR_UPSTREAM_URL).to.equal(undefined);
  });

  it('has a HEALTHCHECK in exec form that needs only node (slim images have no curl)', () => {
    const hc = last('HEALTHCHECK').args;
    const cmd = execForm(/CMD\s+(\[.*\])\s*$/.exec(hc)![1]!)!;
    expect(cmd[0]).to.equal('node');
    expect(cmd.join(' ')).to.include('/healthz');
    expect(hc)
      .to.match(/--interval=\d+s/)
      .and.match(/--timeout=\d+s/);
  });

  it('carries the OCI labels', () => {
    const labels = Object.assign({}, ...all('LABEL').map((i) => assignments(i.args))) as Record<string, string>;
    for (const k of ['title', 'description', 'version', 'licenses', 'base.name']) expect(labels, k).to.have.property(`org.opencontainers.image.${k}`).that.is.a('string').and.not.equal('');
    expect(labels['org.opencontainers.image.licenses']).to.equal(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).license);
  });

  it('installs only production dependencies for the final stage, which copies built output and never sources or dev tools', () => {
    const copies = all('COPY').map((i) => i.args);
    const fromStages = copies.filter((c) => c.startsWith('--from=')).map((c) => c.split(/\s+/)[0]!.slice('--from='.length));
    const sources = copies.flatMap((c) =>
      c
        .split(/\s+/)
        .filter((w) => !w.startsWith('--'))
        .slice(0, -1),
    );
    for (const s of sources) expect(s, `COPY ${s}`).not.to.match(/^(\.|src|test|bench|tsconfig[\w.]*)\/?$/);
    expect(all('RUN')).to.deep.equal([]);
    const nodeModulesFrom = copies
      .find((c) => /node_modules/.test(c))!
      .split(/\s+/)[0]!
      .slice('--from='.length);
    const depsStage = dockerfile.stages.find((s) => s.name === nodeModulesFrom)!;
    const installs = all('RUN', depsStage)
      .map((i) => i.args)
      .filter((r) => /npm (ci|install)/.test(r));
    expect(installs).to.have.length(1);
    expect(installs[0]).to.match(/npm ci\b.*--omit=dev/);
    expect(fromStages).to.include('build');
  });

  it('.dockerignore keeps node_modules, .git, dist, tests and local files out of the build context', () => {
    const ignore = new DockerIgnore(readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8'));
    for (const p of [
      'node_modules',
      'node_modules/ws/index.js',
      '.git',
      '.git/HEAD',
      'dist/main.js',
      'test/image/dockerfile.test.ts',
      'bench/match.ts',
      '.env',
      'npm-debug.log',
      'coverage/x',
      '.ci/run',
    ]) {
      expect(ignore.excludes(p), p).to.equal(true);
    }
    for (const p of ['package.json', 'package-lock.json', 'src/main.ts', 'config/topics/encounter-admission.json', 'scripts/build.mjs', 'tsconfig.build.json'])
      expect(ignore.excludes(p), p).to.equal(false);
    const context = contextFiles(REPO_ROOT);
    expect(context.some((f) => f.startsWith('node_modules/') || f.startsWith('.git/') || f.startsWith('test/'))).to.equal(false);
  });
});
