// Routing, parameters and responses, shared by node/event-loop and node/cluster
// (SPEC sections 2-6). Every response carries Content-Length and Content-Type, so
// node:http never falls back to chunked encoding.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { intParam, offloadParam, ParamError } from './params.js';
import { PBKDF2, spin, work } from './work.js';

export const MAX_BODY = 1_048_576;

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';
const pbkdf2 = promisify(crypto.pbkdf2);
const read = promisify(fs.read);

// /fs (node only, outside the contract): one small read through libuv's thread pool,
// the pool crypto.pbkdf2 uses too. The file is opened once, synchronously, at start,
// so that a request is exactly one job on the pool (a pread).
const FS_FILE = new URL('../package.json', import.meta.url);
const FS_BYTES = 64;

// How long a socket stays half-closed after a raw error response (see endWithError).
const LINGER_MS = 1000;

// The app for one process. `info` is the /info body; `pool` runs offloaded /cpu and /work.
export function createApp({ info, pool }) {
  let closing = false;
  const fsFd = fs.openSync(FS_FILE, 'r');
  // socket -> the response to its latest request, for errors that come after it.
  const latest = new WeakMap();

  const routes = new Map([
    ['/ping', () => 'pong'],

    ['/info', () => info],

    ['/cpu', async (query) => {
      const params = new URLSearchParams(query);
      const ms = intParam(params, 'ms');
      const offload = offloadParam(params);
      // `async` does not make this non-blocking: an async function (like a Promise
      // executor) runs synchronously up to its first `await`, so without offload the
      // whole spin happens right here on the event loop and every other connection
      // waits. Only another thread (offload=1) takes it off the loop.
      if (offload) await pool.run('cpu', ms);
      else spin(ms);
      return { ms, offload };
    }],

    ['/work', async (query) => {
      const params = new URLSearchParams(query);
      const n = intParam(params, 'n');
      const offload = offloadParam(params);
      const digest = offload ? await pool.run('work', n) : work(n);
      return { n, digest, offload };
    }],

    ['/hash', async (query) => {
      const params = new URLSearchParams(query);
      const iter = intParam(params, 'iter');
      const offload = offloadParam(params);
      const { password, salt, keylen, digest } = PBKDF2;
      // pbkdf2Sync blocks the loop; pbkdf2 queues the same C++ work on libuv's pool.
      const key = offload
        ? await pbkdf2(password, salt, iter, keylen, digest)
        : crypto.pbkdf2Sync(password, salt, iter, keylen, digest);
      return { iter, digest: key.toString('hex'), offload };
    }],

    ['/fs', async () => {
      const { bytesRead } = await read(fsFd, Buffer.alloc(FS_BYTES), 0, FS_BYTES, 0);
      return { bytes: bytesRead };
    }],

    ['/sleep', async (query) => {
      const ms = intParam(new URLSearchParams(query), 'ms');
      await sleep(ms); // a libuv timer: the loop serves others meanwhile
      return { ms };
    }],
  ]);

  function send(res, status, type, body, headers = {}) {
    if (res.headersSent || res.destroyed) return; // answered already, or the client left
    if (closing) headers.Connection = 'close';
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      ...headers,
    });
    res.end(body);
  }

  // `close`: send Connection: close, after which node:http closes the connection.
  function sendError(res, status, message, { close = false, headers = {} } = {}) {
    if (close) headers.Connection = 'close';
    send(res, status, JSON_TYPE, JSON.stringify({ error: message }), headers);
  }

  function reply(res, result) {
    if (typeof result === 'string') send(res, 200, TEXT, result);
    else send(res, 200, JSON_TYPE, JSON.stringify(result));
  }

  function replyError(res, err) {
    if (err instanceof ParamError) return sendError(res, 400, err.message);
    console.error(`${info.target}: internal error:`, err);
    sendError(res, 500, 'internal server error');
  }

  function route(req, res) {
    const url = req.url;
    const mark = url.indexOf('?');
    const path = mark === -1 ? url : url.slice(0, mark);
    const handler = routes.get(path);
    if (handler === undefined) return sendError(res, 404, `no such path: ${path}`);
    if (req.method !== 'GET') {
      return sendError(res, 405, `method ${req.method} is not allowed on ${path}; use GET`,
        { headers: { Allow: 'GET' } });
    }
    let result;
    try {
      result = handler(mark === -1 ? '' : url.slice(mark + 1));
    } catch (err) {
      return replyError(res, err);
    }
    if (result instanceof Promise) {
      result.then((value) => reply(res, value), (err) => replyError(res, err));
    } else {
      reply(res, result);
    }
  }

  // No endpoint uses a body, but one must be read to its end before the next request
  // on the connection can be parsed. llhttp has already checked Content-Length.
  function drainBody(req, res, then) {
    let received = 0;
    req.on('data', (chunk) => {
      received += chunk.length; // only chunked bodies can grow past the limit here
      if (received > MAX_BODY && !res.headersSent) {
        req.pause();
        sendError(res, 413, `request body over ${MAX_BODY} bytes`, { close: true });
      }
    });
    req.on('end', () => then(req, res));
  }

  function onRequest(req, res) {
    latest.set(req.socket, res);
    if (req.httpVersionMajor !== 1 || req.httpVersionMinor > 1) {
      return sendError(res, 505, 'only HTTP/1.0 and HTTP/1.1 are supported', { close: true });
    }
    // node:http's own check (requireHostHeader) answers 400 without a body, so the
    // server turns it off and does the check here, with a JSON error.
    if (req.httpVersionMinor === 1 && req.headers.host === undefined) {
      return sendError(res, 400, 'an HTTP/1.1 request must have a Host header', { close: true });
    }
    const length = req.headers['content-length'];
    if (length !== undefined && Number(length) > MAX_BODY) {
      return sendError(res, 413, `request body over ${MAX_BODY} bytes`, { close: true });
    }
    if (length === undefined && req.headers['transfer-encoding'] === undefined) {
      return route(req, res); // no body: the usual case
    }
    drainBody(req, res, route);
  }

  // 'clientError': node:http could not parse the request (or it timed out), so there
  // is no req/res and the response is written to the socket by hand.
  function onClientError(err, socket) {
    // The parser reports every later chunk on the socket too: answer only once.
    if (socket.destroyed || socket.writableEnded) return;
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const [status, message] = describeClientError(err);
    answerInOrder(socket, status, message);
  }

  // Responses go out in request order. If the latest request on this socket is still owed
  // its response, the error answer waits for it (node:http answers in order, so every
  // earlier one is done by then), unless the bad bytes are that request's own body: then
  // the error is that request's answer.
  function answerInOrder(socket, status, message) {
    const pending = latest.get(socket);
    if (pending === undefined || pending.writableFinished) {
      return endWithError(socket, status, message);
    }
    if (!pending.headersSent && !pending.req.complete) {
      return sendError(pending, status, message, { close: true });
    }
    pending.once('finish', () => answerInOrder(socket, status, message));
  }

  function endWithError(socket, status, message) {
    if (!socket.writable) return void socket.destroy();
    const body = JSON.stringify({ error: message });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      `Content-Type: ${JSON_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' + body,
    );
    // end() only half-closes (node:http sockets allow half-open): the socket keeps
    // reading and discarding until the client closes. Closing at once with unread
    // request bytes would make the kernel send a reset, which can destroy the
    // response before the client has read it. But not forever:
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  }

  return {
    onRequest,
    onClientError,
    // From now on every response says Connection: close (graceful shutdown).
    startClosing() {
      closing = true;
    },
  };
}

function describeClientError(err) {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'request head too large'];
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return [413, 'chunk extensions too large'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'request not received in time'];
    default:
      return [400, `malformed request: ${err.reason ?? err.code ?? err.message}`];
  }
}
