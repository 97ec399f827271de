import { expect } from 'chai';
import { checkAddresses, classifyAddress, EMPTY_ALLOW_LIST, formatAddress, parseAllowList, parseEndpoint, parseIp, type AddressClass } from '../../src/fhir/endpoint-rule.js';

const classOf = (text: string): AddressClass => {
  const a = parseIp(text);
  if (!a) throw new Error(`not an address: ${text}`);
  return classifyAddress(a);
};

const verdict = (url: string, allow = EMPTY_ALLOW_LIST) => {
  const parsed = parseEndpoint(url, allow);
  return parsed.ok ? 'ok' : parsed.reason;
};

describe('rest-hook endpoint rule', () => {
  describe('address classes', () => {
    const cases: Array<[string, AddressClass]> = [
      ['0.0.0.0', 'unspecified'],
      ['0.1.2.3', 'unspecified'],
      ['::', 'unspecified'],
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['::1', 'loopback'],
      ['10.0.0.1', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.1', 'private'],
      ['fc00::1', 'private'],
      ['fd12:3456::1', 'private'],
      ['fec0::1', 'private'],
      ['169.254.1.1', 'link-local'],
      ['fe80::1', 'link-local'],
      ['fe80::1%eth0', 'link-local'],
      ['febf::1', 'link-local'],
      ['100.64.0.1', 'cgnat'],
      ['100.127.255.255', 'cgnat'],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.250', 'multicast'],
      ['ff02::1', 'multicast'],
      ['240.0.0.1', 'reserved'],
      ['255.255.255.255', 'reserved'],
      ['192.0.2.10', 'reserved'],
      ['2001:db8::1', 'reserved'],
      ['169.254.169.254', 'metadata'],
      ['169.254.170.2', 'metadata'],
      ['100.100.100.200', 'metadata'],
      ['fd00:ec2::254', 'metadata'],
      ['8.8.8.8', 'public'],
      ['172.32.0.1', 'public'],
      ['100.128.0.1', 'public'],
      ['2606:4700:4700::1111', 'public'],
      // IPv6 forms carrying an IPv4 address are classified as that address.
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['::ffff:169.254.169.254', 'metadata'],
      ['::ffff:10.1.2.3', 'private'],
      ['::127.0.0.1', 'loopback'],
      ['64:ff9b::10.0.0.1', 'private'],
      ['2002:7f00:1::', 'loopback'],
      ['::ffff:8.8.8.8', 'public'],
    ];
    for (const [address, kind] of cases) it(`${address} is ${kind}`, () => expect(classOf(address)).to.equal(kind));
  });

  describe('IPv4 spellings are normalised', () => {
    const spellings: Array<[string, string]> = [
      ['2130706433', '127.0.0.1'],
      ['0x7f000001', '127.0.0.1'],
      ['0177.0.0.1', '127.0.0.1'],
      ['0x7f.1', '127.0.0.1'],
      ['127.1', '127.0.0.1'],
      ['0', '0.0.0.0'],
      ['2852039166', '169.254.169.254'],
      ['0xa9.0xfe.0xa9.0xfe', '169.254.169.254'],
      ['012.0.0.1', '10.0.0.1'],
    ];
    for (const [spelling, address] of spellings) it(`${spelling} is ${address}`, () => expect(formatAddress(parseIp(spelling)!)).to.equal(address));
    it('refuses what is not an address', () => {
      for (const s of ['256.0.0.1', '1.2.3.4.5', '08.0.0.1', '4294967296', 'example.org', '1..2', ':::', '1:2:3:4:5:6:7:8:9', '::ffff:1.2.3']) expect(parseIp(s), s).to.equal(undefined);
    });
    it('formats IPv6 in the short form', () => {
      expect(formatAddress(parseIp('fd00:ec2:0:0:0:0:0:254')!)).to.equal('fd00:ec2::254');
      expect(formatAddress(parseIp('::1')!)).to.equal('::1');
    });
  });

  describe('endpoint URLs (no DNS)', () => {
    it('accepts https on a public host name or address', () => {
      expect(verdict('https://hooks.example.org/fhir')).to.equal('ok');
      expect(verdict('https://8.8.8.8:8443/hook')).to.equal('ok');
      expect(verdict('https://[2606:4700:4700::1111]/hook')).to.equal('ok');
    });
    it('refuses http, other schemes, credentials and non-URLs', () => {
      expect(verdict('http://hooks.example.org/')).to.match(/https/);
      expect(verdict('ftp://hooks.example.org/')).to.match(/https/);
      expect(verdict('https://user:pw@hooks.example.org/')).to.match(/credentials/);
      expect(verdict('/relative')).to.match(/absolute/);
    });
    const refused: Array<[string, RegExp]> = [
      ['https://127.0.0.1/', /loopback/],
      ['https://2130706433/', /loopback/],
      ['https://0x7f.1/', /loopback/],
      ['https://0177.0.0.1/', /loopback/],
      ['https://[::1]/', /loopback/],
      ['https://[::ffff:127.0.0.1]/', /loopback/],
      ['https://localhost/', /loopback/],
      ['https://LOCALHOST./', /loopback/],
      ['https://api.localhost/', /loopback/],
      ['https://10.0.0.5/', /private/],
      ['https://192.168.0.10/', /private/],
      ['https://[fd00::1]/', /private/],
      ['https://169.254.1.2/', /link-local/],
      ['https://[fe80::1]/', /link-local/],
      ['https://100.64.1.1/', /carrier-grade NAT/],
      ['https://0.0.0.0/', /unspecified/],
      ['https://224.0.0.251/', /multicast/],
      ['https://169.254.169.254/latest/meta-data', /metadata/],
      ['https://[fd00:ec2::254]/', /metadata/],
      ['https://metadata.google.internal/computeMetadata/v1/', /metadata/],
    ];
    for (const [url, reason] of refused) it(`refuses ${url}`, () => expect(verdict(url)).to.match(reason));
  });

  describe('resolved addresses', () => {
    const addrs = (...list: string[]) => list.map((a) => parseIp(a)!);
    it('passes when every address is public', () => {
      expect(checkAddresses('hooks.example.org', addrs('8.8.8.8', '2606:4700:4700::1111'), EMPTY_ALLOW_LIST)).to.deep.equal({ ok: true });
    });
    it('refuses when any one address is not, naming what the name resolved to', () => {
      const v = checkAddresses('rebind.example.org', addrs('8.8.8.8', '127.0.0.1'), EMPTY_ALLOW_LIST);
      expect(v.ok).to.equal(false);
      expect(!v.ok && v.reason)
        .to.match(/rebind\.example\.org resolves to 127\.0\.0\.1/)
        .and.match(/loopback/);
      expect(checkAddresses('x.example.org', addrs('::ffff:169.254.169.254'), EMPTY_ALLOW_LIST).ok).to.equal(false);
    });
    it('refuses a name without addresses', () => {
      expect(checkAddresses('empty.example.org', [], EMPTY_ALLOW_LIST).ok).to.equal(false);
    });
  });

  describe('RESTHOOK_ALLOW', () => {
    it('a named host may use http and any address', () => {
      const allow = parseAllowList(['localhost', 'hooks.internal']);
      expect(verdict('http://localhost:9000/hook', allow)).to.equal('ok');
      expect(verdict('https://HOOKS.internal./x', allow)).to.equal('ok');
      expect(verdict('http://other.internal/x', allow)).to.match(/https/);
    });
    it('a *.suffix entry names every host under it, not the suffix itself', () => {
      const allow = parseAllowList(['*.hooks.internal']);
      expect(verdict('http://a.hooks.internal/', allow)).to.equal('ok');
      expect(verdict('http://b.a.hooks.internal/', allow)).to.equal('ok');
      expect(verdict('http://hooks.internal/', allow)).to.not.equal('ok');
      expect(verdict('http://evilhooks.internal/', allow)).to.not.equal('ok');
    });
    it('a CIDR range allows the addresses in it, in every spelling, and only those', () => {
      const allow = parseAllowList(['10.1.0.0/16', 'fd00:1::/32']);
      expect(verdict('http://10.1.2.3/', allow)).to.equal('ok');
      expect(verdict('http://0x0a.0x01.2.3/', allow)).to.equal('ok');
      expect(verdict('http://[::ffff:10.1.2.3]/', allow)).to.equal('ok');
      expect(verdict('https://[fd00:1::5]/', allow)).to.equal('ok');
      expect(verdict('https://10.2.0.1/', allow)).to.match(/private/);
      expect(checkAddresses('svc.internal', [parseIp('10.1.9.9')!], allow)).to.deep.equal({ ok: true });
      expect(checkAddresses('svc.internal', [parseIp('10.1.9.9')!, parseIp('10.3.0.1')!], allow).ok).to.equal(false);
    });
    it('a single address entry allows exactly that address', () => {
      const allow = parseAllowList(['127.0.0.1', '[::1]']);
      expect(verdict('http://127.0.0.1:8080/', allow)).to.equal('ok');
      expect(verdict('http://[::1]/', allow)).to.equal('ok');
      expect(verdict('http://127.0.0.2/', allow)).to.not.equal('ok');
    });
    it('refuses entries that are neither names nor ranges', () => {
      for (const bad of ['10.0.0.0/33', 'fd00::/129', 'http://x', 'a b', '*.', '-bad.example']) expect(() => parseAllowList([bad]), bad).to.throw(RangeError);
      expect(parseAllowList([' ', '']).hosts.size).to.equal(0);
    });
  });
});
