import { expect } from 'chai';
import { Readable } from 'node:stream';
import { UrlRewriter } from '../../src/upstream/rewrite.js';

const PUBLIC = 'https://gw.example.org/fhir';

async function streamed(r: UrlRewriter, text: string, chunk: number): Promise<string> {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += chunk) parts.push(text.slice(i, i + chunk));
  const out: Buffer[] = [];
  for await (const c of Readable.from(parts.map((p) => Buffer.from(p))).pipe(r.stream())) out.push(c as Buffer);
  return Buffer.concat(out).toString();
}

describe('UrlRewriter', () => {
  const r = new UrlRewriter(['http://hapi.internal:8080/fhir'], PUBLIC);

  it('finds the base with scheme and host in any case, the path exact', () => {
    expect(r.text('"HTTP://HAPI.Internal:8080/fhir/Patient/1"')).to.equal(`"${PUBLIC}/Patient/1"`);
    expect(r.text('"http://hapi.internal:8080/FHIR/Patient/1"')).to.equal('"http://hapi.internal:8080/FHIR/Patient/1"');
  });

  it('finds the base JSON-escaped and percent-encoded, hex digits in either case', () => {
    expect(r.text('"http:\\/\\/hapi.internal:8080\\/fhir\\/Patient"')).to.equal('"https:\\/\\/gw.example.org\\/fhir\\/Patient"');
    expect(r.text('next?url=http%3A%2F%2Fhapi.internal%3A8080%2Ffhir%2FPatient')).to.equal(`next?url=${encodeURIComponent(PUBLIC)}%2FPatient`);
    expect(r.text('next?url=HTTP%3a%2f%2fHAPI.internal%3a8080%2ffhir')).to.equal(`next?url=${encodeURIComponent(PUBLIC)}`);
  });

  it('leaves a longer path, host or port alone', () => {
    for (const s of ['http://hapi.internal:8080/fhirX/1', 'http://hapi.internal:80801/fhir', 'http://hapi.internal.evil:8080/fhir']) expect(r.text(s)).to.equal(s);
  });

  it('knows the default port with and without it spelled out', () => {
    const d = new UrlRewriter(['http://hapi/fhir'], PUBLIC);
    expect(d.text('http://hapi:80/fhir/a http://hapi/fhir/b')).to.equal(`${PUBLIC}/a ${PUBLIC}/b`);
    expect(d.text('http://hapi:8080/fhir/c')).to.equal('http://hapi:8080/fhir/c');
  });

  it('in headers, also replaces the upstream origin outside the base', () => {
    expect(r.header('0; url=HTTP://hapi.internal:8080/login')).to.equal('0; url=https://gw.example.org/login');
    expect(r.header('Bearer realm="http://hapi.internal:8080/fhir", error="invalid_token"')).to.equal(`Bearer realm="${PUBLIC}", error="invalid_token"`);
    expect(r.header('<http://hapi.internal:8080/fhir/Patient?page=2>; rel="next"')).to.equal(`<${PUBLIC}/Patient?page=2>; rel="next"`);
    expect(r.header('http://hapi.internal:8081/x')).to.equal('http://hapi.internal:8081/x');
  });

  it('in bodies, leaves a URL on the upstream origin but outside its base (it may be a canonical)', () => {
    expect(r.text('"http://hapi.internal:8080/StructureDefinition/x"')).to.equal('"http://hapi.internal:8080/StructureDefinition/x"');
  });

  it('finds every spelling split across chunks of any size', async () => {
    const text = `{"a":"HTTP://hapi.internal:8080/fhir/1","b":"http:\\/\\/hapi.internal:8080\\/fhir","c":"http%3A%2F%2Fhapi.internal%3A8080%2Ffhir%2F2","d":"http://hapi.internal:8080/fhirX"}`;
    const whole = r.text(text);
    expect(whole).to.not.match(/hapi\.internal:8080\/fhir[^X]|hapi\.internal%3A8080/i);
    for (const size of [1, 2, 3, 5, 7, 13, 40, 1000]) expect(await streamed(r, text, size), `chunks of ${size}`).to.equal(whole);
  });
});
