// Golden digests of SPEC.md section 5 and the query parameter rules of section 4.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { intParam, offloadParam, ParamError } from '../lib/params.js';
import { PBKDF2, spin, work } from '../lib/work.js';

const WORK_DIGESTS = {
  0: '811c9dc5',
  1: '050c5d1f',
  2: '1076963a',
  10: '2f854072',
  1000: 'a06ae7fd',
  65536: 'eea39dc5',
  1000000: 'bbc1d705',
  10000000: '25be6645',
};

const HASH_DIGESTS = {
  1: '3a1a5ef6f31e11c8e290238e8778a227fa4b7882853c4da4cd4db51f78d6119a',
  2: '4bedcef7faf4cc09ef6c2d31070ac31907eef715168bc5cf8086ee5a39a5a6a5',
  100: '0f01301d6cdb20b260d92d5fa7efaf3d8450685929fdb08c3a5ebdf3ae1a9955',
  1000: '317bc7451809011cc269e2245efcaf6cabab80fab190ffbde0a3c90bff7f0600',
  10000: 'adeadd10710888bb60fd67da022cf7fcf1dd452f29cf23a912360342be8b29ca',
};

describe('/work digest', () => {
  for (const [n, digest] of Object.entries(WORK_DIGESTS)) {
    it(`n=${n}`, () => assert.equal(work(Number(n)), digest));
  }
});

describe('/hash digest', () => {
  const { password, salt, keylen, digest } = PBKDF2;
  for (const [iter, expected] of Object.entries(HASH_DIGESTS)) {
    it(`iter=${iter} sync`, () => {
      assert.equal(crypto.pbkdf2Sync(password, salt, Number(iter), keylen, digest).toString('hex'), expected);
    });
    it(`iter=${iter} async`, async () => {
      const key = await promisify(crypto.pbkdf2)(password, salt, Number(iter), keylen, digest);
      assert.equal(key.toString('hex'), expected);
    });
  }
});

describe('spin', () => {
  it('busy-waits at least the requested time', () => {
    const start = performance.now();
    spin(20);
    assert.ok(performance.now() - start >= 20);
  });
});

describe('query parameters', () => {
  const parse = (query, name = 'ms', fallback) => intParam(new URLSearchParams(query), name, fallback);

  it('accepts digits within the range, leading zeros included', () => {
    assert.equal(parse('ms=0'), 0);
    assert.equal(parse('ms=10000'), 10000);
    assert.equal(parse('ms=007'), 7);
    assert.equal(parse('n=100000000', 'n'), 100000000);
    assert.equal(parse('iter=1', 'iter'), 1);
    assert.equal(parse('ms=%35'), 5); // form-urlencoded, decoded first
    assert.equal(parse('other=x&ms=3&x'), 3); // unknown parameters are ignored
  });

  const rejected = {
    'missing': ['', /missing required parameter 'ms'/],
    'missing value': ['ms', /'ms' must be/],
    'empty': ['ms=', /'ms' must be/],
    'duplicate': ['ms=1&ms=1', /'ms' is given more than once/],
    'negative': ['ms=-1', /'ms' must be/],
    'plus sign': ['ms=%2B1', /'ms' must be/],
    'space (+)': ['ms=+1', /'ms' must be/],
    'decimal': ['ms=1.0', /'ms' must be/],
    'exponent': ['ms=1e3', /'ms' must be/],
    'hex': ['ms=0x10', /'ms' must be/],
    'trailing garbage': ['ms=10abc', /'ms' must be/],
    'over the range': ['ms=10001', /'ms' must be/],
    'huge': ['ms=99999999999999999999999', /'ms' must be/],
    'enormous': [`ms=${'9'.repeat(400)}`, /'ms' must be/],
    'non-ascii digit': ['ms=%D9%A3', /'ms' must be/],
  };
  for (const [label, [query, message]] of Object.entries(rejected)) {
    it(`rejects ${label}`, () => {
      assert.throws(() => parse(query), (err) => err instanceof ParamError && message.test(err.message));
    });
  }

  it('checks each range', () => {
    assert.throws(() => parse('iter=0', 'iter'), ParamError);
    assert.throws(() => parse('iter=1000001', 'iter'), ParamError);
    assert.throws(() => parse('n=100000001', 'n'), ParamError);
  });

  it('reads offload as 0 or 1, absent meaning 0', () => {
    const offload = (query) => offloadParam(new URLSearchParams(query));
    assert.equal(offload(''), false);
    assert.equal(offload('offload=0'), false);
    assert.equal(offload('offload=1'), true);
    assert.throws(() => offload('offload=2'), /'offload' must be 0 or 1/);
    assert.throws(() => offload('offload=true'), ParamError);
    assert.throws(() => offload('offload=1&offload=1'), ParamError);
  });
});
