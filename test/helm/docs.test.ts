// The chart's documentation stays true: every value has a default, a schema entry and a row in
// the chart README's values table; every config key the schema offers is one the gateway reads.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { CHART } from '../support/helm.js';

interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  examples?: unknown[];
  items?: SchemaNode;
}

const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as SchemaNode;
const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
const readme = readFileSync(join(CHART, 'README.md'), 'utf8');

// Documented as one value: the config file's keys (the project README's table) and probe timings.
const WHOLE = ['config', 'livenessProbe', 'readinessProbe', 'startupProbe'];
// In the schema, not in values.yaml: added only by those who need them.
const OPTIONAL = ['securityContext.seLinuxOptions', 'securityContext.appArmorProfile'];

/** Dotted paths of the schema's closed objects, down to the values the chart passes through whole. */
function schemaPaths(node: SchemaNode, prefix = ''): string[] {
  if (node.additionalProperties !== false || !node.properties || WHOLE.includes(prefix)) return [prefix];
  return Object.entries(node.properties).flatMap(([k, child]) => schemaPaths(child, prefix ? `${prefix}.${k}` : k));
}

/** Paths the values table names: `a.b`, and `.c` beside it meaning `a.c`. */
function documentedPaths(): Set<string> {
  const paths = new Set<string>();
  for (const line of readme.slice(readme.indexOf('## Values')).split('\n')) {
    const cell = /^\| ([^|]+) \|/.exec(line)?.[1];
    if (!cell) continue;
    let parent = '';
    for (const [, token] of cell.matchAll(/`([^`]+)`/g)) {
      if (token!.startsWith('.')) paths.add(parent + token);
      else {
        paths.add(token!);
        parent = token!.includes('.') ? token!.slice(0, token!.lastIndexOf('.')) : token!;
      }
    }
  }
  return paths;
}

describe('helm chart: documentation', () => {
  const paths = schemaPaths(schema).filter((p) => p !== 'global');

  it("installs the image of the gateway's own version by default", () => {
    const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string };
    const pkg = JSON.parse(readFileSync(join(CHART, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(chart.appVersion).to.equal(pkg.version);
  });

  it('gives every value in the schema a default in values.yaml', () => {
    for (const path of paths.filter((p) => !OPTIONAL.includes(p))) {
      const parts = path.split('.');
      let at: unknown = values;
      for (const part of parts) {
        expect(at, `values.yaml has ${path}`).to.be.an('object').that.has.property(part);
        at = (at as Record<string, unknown>)[part];
      }
    }
  });

  it('documents every value in the chart README', () => {
    const documented = documentedPaths();
    const missing = paths.filter((p) => !documented.has(p));
    expect(missing, 'values missing from the README table').to.deep.equal([]);
  });

  it('offers only config keys the gateway reads, in ranges it accepts', () => {
    const config = schema.properties!.config!;
    const dir = mkdtempSync(join(tmpdir(), 'fsg-chart-config-'));
    const samples = (node: SchemaNode): unknown[] => {
      if (node.enum) return node.enum;
      if (node.examples) return node.examples;
      if (node.type === 'integer') return [node.minimum, node.maximum].filter((n) => n !== undefined);
      if (node.type === 'array') return [samples(node.items!)];
      return [];
    };
    for (const [key, node] of Object.entries(config.properties!)) {
      if (key === 'redis') continue;
      const tried = samples(node);
      expect(tried, `samples for config.${key}`).to.not.deep.equal([]);
      for (const sample of tried) {
        const file = join(dir, `${key}.json`);
        // RS256 needs key files, which a chart user mounts; the name alone must be a known key.
        const content = key.startsWith('tokenP') ? { [key]: sample, tokenAlgorithm: 'RS256' } : key === 'tokenAlgorithm' && sample !== 'HS256' ? {} : { [key]: sample };
        writeFileSync(file, JSON.stringify(content));
        const attempt = () => loadConfig({ CONFIG_FILE: file });
        if (key.startsWith('tokenP')) expect(attempt).to.throw(/cannot be read|is required/);
        else expect(attempt, `config.${key} = ${JSON.stringify(sample)}`).to.not.throw();
      }
    }
    const redis = { keyPrefix: 'p:', sentinel: { name: 'm', sentinels: [{ host: 's', port: 26379 }], tls: true } };
    writeFileSync(join(dir, 'redis.json'), JSON.stringify({ redis, tokenSecret: 'x'.repeat(32) }));
    expect(loadConfig({ CONFIG_FILE: join(dir, 'redis.json') }).redis?.sentinel?.tls).to.equal(true);
  });
});
