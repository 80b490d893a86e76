"""The incremental request parser and the response writer (runtimes/SPEC.md section 2)."""

import unittest

from lab_server.http import (
    MAX_BODY,
    MAX_HEAD,
    HttpError,
    Reply,
    RequestParser,
    encode,
    error_response,
)

PING = b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"


def parse_all(data: bytes, step: int | None = None) -> list:
    """Feed `data` (all at once, or `step` bytes at a time); return requests, then the error."""
    parser = RequestParser()
    out = []
    chunks = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    try:
        for chunk in chunks:
            parser.feed(chunk)
            while (request := parser.next()) is not None:
                out.append(request)
    except HttpError as error:
        out.append(error)
    return out


def status_of(data: bytes, step: int | None = None) -> int | None:
    last = parse_all(data, step)[-1:]
    return last[0].status if last and isinstance(last[0], HttpError) else None


class Incremental(unittest.TestCase):
    def test_one_request(self):
        [request] = parse_all(PING)
        self.assertEqual((request.method, request.path, request.query), ("GET", "/ping", ""))
        self.assertEqual(request.version, "HTTP/1.1")
        self.assertEqual(request.headers, {"host": "x"})
        self.assertTrue(request.keep_alive)

    def test_byte_by_byte_gives_the_same_requests(self):
        data = (
            PING
            + b"GET /work?n=10&offload=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            + b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"3\r\nabc\r\n0\r\n\r\n"
            + b"GET /info HTTP/1.0\r\n\r\n"
        )
        whole = [(r.method, r.target, r.keep_alive) for r in parse_all(data)]
        for step in (1, 2, 3, 7, 64):
            pieces = [(r.method, r.target, r.keep_alive) for r in parse_all(data, step)]
            self.assertEqual(pieces, whole, f"step {step}")
        self.assertEqual(
            whole,
            [
                ("GET", "/ping", True),
                ("GET", "/work?n=10&offload=1", True),
                ("POST", "/x", True),
                ("GET", "/info", False),
            ],
        )

    def test_incomplete_head_waits(self):
        parser = RequestParser()
        parser.feed(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
        self.assertIsNone(parser.next())
        self.assertTrue(parser.pending)
        parser.feed(b"\r\n")
        self.assertEqual(parser.next().path, "/ping")
        self.assertFalse(parser.pending)

    def test_pipelined_requests_come_out_in_order(self):
        data = b"".join(f"GET /r{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(50))
        self.assertEqual([r.path for r in parse_all(data)], [f"/r{i}" for i in range(50)])

    def test_request_waits_for_its_body(self):
        parser = RequestParser()
        parser.feed(b"POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345")
        self.assertIsNone(parser.next())
        parser.feed(b"67890" + PING)
        self.assertEqual(parser.next().method, "POST")
        self.assertEqual(parser.next().method, "GET")
        self.assertIsNone(parser.next())

    def test_leading_empty_lines_and_bare_lf(self):
        [request] = parse_all(b"\r\n\r\nGET /ping HTTP/1.1\nHost: x\n\n")
        self.assertEqual(request.path, "/ping")

    def test_query_and_absolute_form(self):
        [a, b] = parse_all(
            b"GET /cpu?ms=5 HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET http://x:8080/sleep?ms=1 HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        self.assertEqual((a.path, a.query), ("/cpu", "ms=5"))
        self.assertEqual((b.path, b.query), ("/sleep", "ms=1"))

    def test_header_values_are_trimmed_and_repeats_joined(self):
        [request] = parse_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-A:  1 2 \r\nx-a: 3\r\n\r\n")
        self.assertEqual(request.headers["x-a"], "1 2, 3")


class KeepAlive(unittest.TestCase):
    def keep(self, version: str, connection: str | None) -> bool:
        header = f"Connection: {connection}\r\n" if connection is not None else ""
        [request] = parse_all(f"GET / {version}\r\nHost: x\r\n{header}\r\n".encode())
        return request.keep_alive

    def test_http11_persistent_unless_close(self):
        self.assertTrue(self.keep("HTTP/1.1", None))
        self.assertTrue(self.keep("HTTP/1.1", "keep-alive"))
        self.assertFalse(self.keep("HTTP/1.1", "close"))
        self.assertFalse(self.keep("HTTP/1.1", "Upgrade, Close"))

    def test_http10_closes_unless_keep_alive(self):
        self.assertFalse(self.keep("HTTP/1.0", None))
        self.assertTrue(self.keep("HTTP/1.0", "Keep-Alive"))
        self.assertFalse(self.keep("HTTP/1.0", "keep-alive, close"))

    def test_host_required_on_http11_only(self):
        self.assertEqual(status_of(b"GET / HTTP/1.1\r\n\r\n"), 400)
        self.assertEqual(status_of(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400)
        [request] = parse_all(b"GET / HTTP/1.0\r\n\r\n")
        self.assertEqual(request.version, "HTTP/1.0")


class Malformed(unittest.TestCase):
    def test_bad_request_lines(self):
        for line in [
            b"NOT A REQUEST",
            b"GET /ping",
            b"GET  /ping HTTP/1.1",
            b"GET /ping HTTP/1.1 extra",
            b"GET /ping http/1.1",
            b"GET /ping HTTP/1.10",
            b"G(T /ping HTTP/1.1",
            b"GET /p\x00ng HTTP/1.1",
        ]:
            self.assertEqual(status_of(line + b"\r\nHost: x\r\n\r\n"), 400, line)

    def test_unsupported_version(self):
        self.assertEqual(status_of(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505)
        self.assertEqual(status_of(b"GET / HTTP/0.9\r\nHost: x\r\n\r\n"), 505)

    def test_bad_header_lines(self):
        for field in [b"NoColon", b"Bad Name: x", b"Host : x", b" folded", b"X: a\x01b", b": x"]:
            data = b"GET / HTTP/1.1\r\nHost: x\r\n" + field + b"\r\n\r\n"
            self.assertEqual(status_of(data), 400, field)

    def test_bad_content_length(self):
        for value in [b"abc", b"-1", b"+5", b"1.0", b"0x10", b"", b"1, 2", b"5 5"]:
            data = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + value + b"\r\n\r\n"
            self.assertEqual(status_of(data), 400, value)
        # the same value repeated is one value
        [request] = parse_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\nab")
        self.assertEqual(request.method, "POST")

    def test_error_is_sticky_and_comes_after_earlier_requests(self):
        out = parse_all(PING + b"NOT A REQUEST\r\n\r\n" + PING)
        self.assertEqual(out[0].path, "/ping")
        self.assertIsInstance(out[1], HttpError)
        self.assertEqual(len(out), 2)
        parser = RequestParser()
        parser.feed(b"BAD\r\n\r\n")
        for _ in range(2):
            with self.assertRaises(HttpError):
                parser.next()

    def test_transfer_encoding_rules(self):
        te = b"Transfer-Encoding: chunked\r\n"
        self.assertEqual(
            status_of(b"POST / HTTP/1.1\r\nHost: x\r\n" + te + b"Content-Length: 3\r\n\r\n"), 400
        )
        self.assertEqual(status_of(b"POST / HTTP/1.0\r\n" + te + b"\r\n"), 400)
        gzip = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        self.assertEqual(status_of(gzip), 501)


class Limits(unittest.TestCase):
    @staticmethod
    def head_of(size: int) -> bytes:
        """A request head of exactly `size` bytes."""
        base = b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Pad: \r\n\r\n"
        return base[:-4] + b"p" * (size - len(base)) + b"\r\n\r\n"

    def test_8_kib_head_is_accepted(self):
        head = self.head_of(8192)
        self.assertEqual(len(head), 8192)
        self.assertEqual(parse_all(head)[0].path, "/ping")
        self.assertEqual(parse_all(head, step=1000)[0].path, "/ping")

    def test_limit_is_exact(self):
        self.assertEqual(parse_all(self.head_of(MAX_HEAD))[0].path, "/ping")
        self.assertEqual(status_of(self.head_of(MAX_HEAD + 1)), 431)

    def test_16_kib_head_gets_431_without_waiting_for_its_end(self):
        self.assertEqual(status_of(self.head_of(16384)), 431)
        endless = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (32 * 1024)
        self.assertEqual(status_of(endless), 431)
        self.assertEqual(status_of(endless, step=4096), 431)

    def test_body_limit(self):
        ok = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % MAX_BODY
        out = parse_all(ok + b"x" * MAX_BODY + PING, step=65536)
        self.assertEqual([r.method for r in out], ["POST", "GET"])
        too_big = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1)
        self.assertEqual(status_of(too_big), 413)  # at once, before any body byte
        spec = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n"
        self.assertEqual(status_of(spec), 413)
        huge = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + b"9" * 30 + b"\r\n\r\n"
        self.assertEqual(status_of(huge), 413)

    def test_leading_zeros_in_content_length(self):
        out = parse_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0003\r\n\r\nabc" + PING)
        self.assertEqual([r.method for r in out], ["POST", "GET"])


class Chunked(unittest.TestCase):
    HEAD = b"POST /ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"

    def test_chunks_extensions_and_trailers(self):
        body = b"5\r\nhello\r\n6;name=value\r\n world\r\nA\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\n"
        for step in (None, 1, 5):
            out = parse_all(self.HEAD + body + PING, step)
            self.assertEqual([r.method for r in out], ["POST", "GET"], step)

    def test_bad_chunk_framing(self):
        bad_trailer = b"5\r\nhello\r\n0\r\nbad trailer\r\n\r\n"
        for body in [b"zz\r\n", b"5\r\nhelloXX\r\n", b"-1\r\n", bad_trailer]:
            self.assertEqual(status_of(self.HEAD + body), 400, body)

    def test_chunked_size_limit(self):
        self.assertEqual(status_of(self.HEAD + b"%x\r\n" % (MAX_BODY + 1)), 413)
        self.assertEqual(status_of(self.HEAD + b"ffffffffffffffffffff\r\n"), 413)
        half = b"%x\r\n" % (MAX_BODY // 2 + 1) + b"x" * (MAX_BODY // 2 + 1) + b"\r\n"
        self.assertEqual(status_of(self.HEAD + half + half), 413)


class Writer(unittest.TestCase):
    def test_response_framing(self):
        data = encode(Reply(200, b"pong", "text/plain; charset=utf-8"), keep_alive=True)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        self.assertEqual(lines[0], b"HTTP/1.1 200 OK")
        self.assertIn(b"Content-Length: 4", lines)
        self.assertIn(b"Content-Type: text/plain; charset=utf-8", lines)
        self.assertIn(b"Connection: keep-alive", lines)
        self.assertEqual(body, b"pong")

    def test_head_has_no_body_and_errors_close(self):
        reply = Reply(405, b'{"error": "x"}', headers=(("Allow", "GET"),))
        data = encode(reply, keep_alive=True, head=True)
        self.assertTrue(data.endswith(b"\r\n\r\n"))
        self.assertIn(b"Allow: GET\r\n", data)
        self.assertIn(b"Content-Length: 14\r\n", data)
        error = error_response(HttpError(431, "too big"))
        self.assertTrue(error.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"))
        self.assertIn(b"Connection: close\r\n", error)
        self.assertIn(b"Content-Type: application/json\r\n", error)
        self.assertTrue(error.endswith(b'{"error": "too big"}'))


if __name__ == "__main__":
    unittest.main()
