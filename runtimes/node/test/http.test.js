// The servers as the lab runs them: child processes, spoken to over raw sockets.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';

const ROOT = new URL('..', import.meta.url);

// Starts `node <entry>` on a free port; resolves once it printed its readiness line.
function start(entry, env = {}) {
  const proc = spawn(process.execPath, [entry], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    proc.stderr.on('data', (chunk) => {
      stderr += chunk;
      const match = /listening on http:\/\/[^ ]+:(\d+)/.exec(stderr);
      if (match) resolve(Number(match[1]));
    });
    exited.then(({ code }) => reject(new Error(`${entry} exited with ${code}: ${stderr}`)));
  });
  return ready.then((port) => ({ proc, port, exited, stderr: () => stderr }));
}

// Parses complete HTTP responses (all carry Content-Length) off the front of `buf`.
function parseResponses(buf, { head = false } = {}) {
  const responses = [];
  let rest = buf;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    const [statusLine, ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const headers = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = head ? 0 : Number(headers['content-length']);
    if (Number.isNaN(length) || rest.length < end + 4 + length) break;
    const body = rest.subarray(end + 4, end + 4 + length).toString();
    responses.push({ status: Number(statusLine.split(' ')[1]), headers, body });
    rest = rest.subarray(end + 4 + length);
  }
  return responses;
}

// Writes `raw` (a string or a list of chunks) and reads until `count` responses have
// arrived and, with `close`, the server closed the connection.
function talk(port, raw, { count = 1, close = false, head = false, timeout = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let closed = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timeout; got ${JSON.stringify(data.toString().slice(0, 300))}`));
    }, timeout);
    const check = () => {
      const responses = parseResponses(data, { head });
      if (responses.length >= count && (!close || closed)) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ responses, closed });
      }
    };
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      check();
    });
    socket.on('end', () => {
      closed = true;
      check();
    });
    socket.on('error', () => {
      closed = true;
      check();
    });
    for (const chunk of [raw].flat()) socket.write(chunk);
  });
}

const get = (path, extra = '') => `GET ${path} HTTP/1.1\r\nHost: lab\r\n${extra}\r\n`;

function assertJsonError(response, status) {
  assert.equal(response.status, status);
  assert.match(response.headers['content-type'], /^application\/json/);
  assert.equal(Number(response.headers['content-length']), Buffer.byteLength(response.body));
  assert.equal(typeof JSON.parse(response.body).error, 'string');
}

// A request head of exactly `size` bytes, padded with one header.
function headOfSize(size) {
  const prefix = 'GET /ping HTTP/1.1\r\nHost: lab\r\nX-Pad: ';
  return prefix + 'a'.repeat(size - prefix.length - 4) + '\r\n\r\n';
}

describe('node/event-loop over HTTP', () => {
  let server;
  before(async () => {
    server = await start('server.js');
  });
  after(() => server.proc.kill('SIGKILL'));

  it('answers /ping with text/plain pong and keeps the connection', async () => {
    const { responses, closed } = await talk(server.port, get('/ping') + get('/ping'), { count: 2 });
    for (const r of responses) {
      assert.equal(r.status, 200);
      assert.equal(r.body, 'pong');
      assert.match(r.headers['content-type'], /^text\/plain/);
      assert.equal(r.headers['content-length'], '4');
      assert.equal(r.headers['transfer-encoding'], undefined);
    }
    assert.equal(closed, false);
  });

  it('reports itself in /info', async () => {
    const { responses: [r] } = await talk(server.port, get('/info'));
    const info = JSON.parse(r.body);
    assert.equal(info.target, 'node/event-loop');
    assert.equal(info.version, process.version);
    assert.equal(info.worker, null);
    assert.deepEqual(info.knobs, { UV_THREADPOOL_SIZE: 4, OFFLOAD_THREADS: 4 });
  });

  it('computes the golden digests inline and offloaded', async () => {
    const paths = ['/work?n=1000', '/work?n=1000&offload=1', '/hash?iter=1000', '/hash?iter=1000&offload=1'];
    const { responses } = await talk(server.port, paths.map((p) => get(p)).join(''), { count: 4 });
    const [w0, w1, h0, h1] = responses.map((r) => JSON.parse(r.body));
    assert.deepEqual(w0, { n: 1000, digest: 'a06ae7fd', offload: false });
    assert.deepEqual(w1, { n: 1000, digest: 'a06ae7fd', offload: true });
    const hash = '317bc7451809011cc269e2245efcaf6cabab80fab190ffbde0a3c90bff7f0600';
    assert.deepEqual(h0, { iter: 1000, digest: hash, offload: false });
    assert.deepEqual(h1, { iter: 1000, digest: hash, offload: true });
  });

  it('reads a few bytes through libuv\'s pool on /fs (node only)', async () => {
    const { responses: [r] } = await talk(server.port, get('/fs'));
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { bytes: 64 });
  });

  it('answers pipelined requests in order', async () => {
    const raw = get('/sleep?ms=50') + get('/cpu?ms=5&offload=1') + get('/ping');
    const { responses } = await talk(server.port, raw, { count: 3 });
    assert.deepEqual(responses.map((r) => r.body), ['{"ms":50}', '{"ms":5,"offload":true}', 'pong']);
  });

  it('honours Connection: close and HTTP/1.0 framing', async () => {
    let result = await talk(server.port, get('/ping', 'Connection: close\r\n'), { close: true });
    assert.equal(result.responses[0].headers.connection, 'close');
    result = await talk(server.port, 'GET /ping HTTP/1.0\r\n\r\n', { close: true });
    assert.equal(result.responses[0].body, 'pong');
    result = await talk(server.port, 'GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'.repeat(2), { count: 2 });
    assert.equal(result.closed, false);
  });

  it('rejects bad parameters with 400 naming the parameter', async () => {
    const cases = ['/cpu', '/cpu?ms=-1', '/cpu?ms=1&ms=1', '/cpu?ms=99999999999999999999999',
      '/sleep?ms=10001', '/work?n=1e3', '/hash?iter=0', '/cpu?ms=1&offload=2'];
    const { responses } = await talk(server.port, cases.map((p) => get(p)).join(''), { count: cases.length });
    for (const [i, r] of responses.entries()) {
      assertJsonError(r, 400);
      assert.match(JSON.parse(r.body).error, /'(ms|n|iter|offload)'/, cases[i]);
    }
  });

  it('routes exactly: 404 for unknown paths, 405 with Allow for other methods', async () => {
    const raw = get('/ping/') + get('/PING') + 'POST /ping HTTP/1.1\r\nHost: lab\r\nContent-Length: 0\r\n\r\n';
    const { responses } = await talk(server.port, raw, { count: 3 });
    assertJsonError(responses[0], 404);
    assertJsonError(responses[1], 404);
    assertJsonError(responses[2], 405);
    assert.equal(responses[2].headers.allow, 'GET');
    const { responses: [head] } = await talk(server.port, 'HEAD /ping HTTP/1.1\r\nHost: lab\r\n\r\n', { head: true });
    assert.equal(head.status, 405);
    assert.equal(head.headers.allow, 'GET');
  });

  const malformed = {
    'a request line that does not parse': 'NOT A REQUEST\r\n\r\n',
    'a header line without a colon': 'GET /ping HTTP/1.1\r\nHost: lab\r\nno colon here\r\n\r\n',
    'an invalid Content-Length': 'GET /ping HTTP/1.1\r\nHost: lab\r\nContent-Length: abc\r\n\r\n',
    'a missing Host header': 'GET /ping HTTP/1.1\r\n\r\n',
    'an unknown HTTP version': 'GET /ping HTTP/1.2\r\nHost: lab\r\n\r\n',
  };
  for (const [label, raw] of Object.entries(malformed)) {
    it(`answers ${label} with a JSON 400 and closes`, async () => {
      const { responses: [r], closed } = await talk(server.port, raw, { close: true });
      assert.ok(r.status === 400 || r.status === 505, `status ${r.status}`);
      assertJsonError(r, r.status);
      assert.ok(closed);
    });
  }

  it('answers pipelined requests before a malformed one', async () => {
    const raw = get('/sleep?ms=100') + get('/ping') + 'NOT A REQUEST\r\n\r\n';
    const { responses, closed } = await talk(server.port, raw, { count: 3, close: true });
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 400]);
    assert.ok(closed);
  });

  it('answers a malformed chunked body as that request\'s own 400', async () => {
    const raw = 'GET /ping HTTP/1.1\r\nHost: lab\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n';
    const { responses, closed } = await talk(server.port, raw, { close: true });
    assert.equal(responses.length, 1);
    assertJsonError(responses[0], 400);
    assert.ok(closed);
  });

  it('percent-decodes the query before checking parameters', async () => {
    const cases = ['/work?n=%31%30&offload=%31', '/work?%6E=10', '/work?n=10&x=%zz', '/work?n=1+',
      '/work?n=%zz', '/work?n=5&n=%zz'];
    const { responses } = await talk(server.port, cases.map((p) => get(p)).join(''), { count: cases.length });
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 400, 400, 400]);
    assert.equal(JSON.parse(responses[0].body).digest, '2f854072');
  });

  it('accepts an 8 KiB head and answers a 16 KiB or 32 KiB one with 431', async () => {
    const ok = await talk(server.port, headOfSize(8192));
    assert.equal(ok.responses[0].body, 'pong');
    for (const size of [16384, 32768]) {
      const { responses: [r], closed } = await talk(server.port, headOfSize(size), { close: true });
      assertJsonError(r, 431);
      assert.ok(closed);
    }
  });

  it('drains bodies up to 1 MiB and refuses larger ones with 413', async () => {
    const mib = 1_048_576;
    const body = Buffer.alloc(mib, 'x');
    const { responses, closed } = await talk(server.port, [
      `GET /ping HTTP/1.1\r\nHost: lab\r\nContent-Length: ${mib}\r\n\r\n`, body, get('/ping'),
    ], { count: 2 });
    assert.deepEqual(responses.map((r) => r.body), ['pong', 'pong']);
    assert.equal(closed, false);
    const chunked = 'GET /ping HTTP/1.1\r\nHost: lab\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
    assert.equal((await talk(server.port, chunked + get('/ping'), { count: 2 })).responses[1].body, 'pong');
    const big = await talk(server.port, 'GET /ping HTTP/1.1\r\nHost: lab\r\nContent-Length: 2000000\r\n\r\n', { close: true });
    assertJsonError(big.responses[0], 413);
    assert.ok(big.closed);
  });

  it('keeps serving /ping while offloaded work runs, not while inline work does', async () => {
    // Wide margins: the inline spin must hold /ping back for most of its 400 ms.
    const timePing = async (cpuPath) => {
      const cpu = talk(server.port, get(cpuPath));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = performance.now();
      await talk(server.port, get('/ping'));
      const elapsed = performance.now() - started;
      await cpu;
      return elapsed;
    };
    assert.ok(await timePing('/cpu?ms=400&offload=1') < 200);
    assert.ok(await timePing('/cpu?ms=400') > 200);
  });
});

describe('node/event-loop process', () => {
  it('finishes a request in flight on SIGTERM and exits 0 within 2 s', async () => {
    const server = await start('server.js');
    const idle = net.connect(server.port, '127.0.0.1'); // an idle keep-alive connection
    const sleeping = talk(server.port, get('/sleep?ms=300'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const signalled = performance.now();
    server.proc.kill('SIGTERM');
    const { responses: [r] } = await sleeping;
    assert.equal(r.status, 200);
    assert.equal(r.headers.connection, 'close');
    assert.deepEqual(await server.exited, { code: 0, signal: null });
    assert.ok(performance.now() - signalled < 2000);
    idle.destroy();
  });

  for (const [knob, value] of [['OFFLOAD_THREADS', '0'], ['UV_THREADPOOL_SIZE', 'four'], ['PORT', '70000']]) {
    it(`refuses ${knob}=${value} at start, naming the knob`, async () => {
      await assert.rejects(start('server.js', { [knob]: value }), new RegExp(`exited with [1-9].*${knob}`, 's'));
    });
  }

  it('reports the UV_THREADPOOL_SIZE and OFFLOAD_THREADS in effect', async () => {
    const server = await start('server.js', { UV_THREADPOOL_SIZE: '2', OFFLOAD_THREADS: '03' });
    const { responses: [r] } = await talk(server.port, get('/info'));
    assert.deepEqual(JSON.parse(r.body).knobs, { UV_THREADPOOL_SIZE: 2, OFFLOAD_THREADS: 3 });
    server.proc.kill('SIGKILL');
  });
});

describe('node/cluster process', () => {
  it('serves from WORKERS processes and stops them all on SIGTERM', async () => {
    const server = await start('cluster.js', { WORKERS: '2' });
    const seen = new Map();
    for (let i = 0; i < 8 && seen.size < 2; i++) {
      const { responses: [r] } = await talk(server.port, get('/info', 'Connection: close\r\n'), { close: true });
      const info = JSON.parse(r.body);
      assert.equal(info.target, 'node/cluster');
      assert.equal(info.knobs.WORKERS, 2);
      seen.set(info.worker, info.pid);
    }
    assert.equal(seen.size, 2, 'both workers answered');
    const sleeping = talk(server.port, get('/sleep?ms=300'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const signalled = performance.now();
    server.proc.kill('SIGTERM');
    assert.equal((await sleeping).responses[0].status, 200);
    assert.deepEqual(await server.exited, { code: 0, signal: null });
    assert.ok(performance.now() - signalled < 2000);
    for (const pid of seen.values()) {
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `worker ${pid} outlived the primary`);
    }
  });

  it('refuses WORKERS=0 at start', async () => {
    await assert.rejects(start('cluster.js', { WORKERS: '0' }), /exited with [1-9].*WORKERS/s);
  });
});
