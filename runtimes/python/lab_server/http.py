"""HTTP/1.1 without any I/O: bytes in, requests out, and responses back as bytes.

Every Python model shares this module, so that the models differ only in what they are
there to show: how they wait for sockets and where they run the work.

- `RequestParser` is incremental: `feed()` it whatever recv() returned (one byte, or several
  pipelined requests at once) and take complete requests out with `next()`. It also reads and
  discards request bodies (Content-Length or chunked), so that keep-alive framing stays right.
- `response()` and `error_response()` turn a `Reply` into the bytes of a response.

Limits (runtimes/SPEC.md section 2): a request head of up to MAX_HEAD bytes is accepted, a
longer one gets 431; a body of up to MAX_BODY bytes is read and discarded, a longer one gets
413; anything malformed gets 400. After an error the parser is dead: the server writes the
error and closes the connection.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_HEAD = 12 * 1024  # SPEC: 8 KiB MUST be accepted, 16 KiB MUST get 431; we draw the line here
MAX_BODY = 1024 * 1024
MAX_CHUNK_LINE = 1024

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"

REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([\x21-\x7e]+) (HTTP/[0-9]\.[0-9])")
# No space before the colon, no line folding, no control characters (RFC 9112 section 5).
_VALUE = rb"((?:[\x21-\x7e\x80-\xff]|[ \t]+(?=[^ \t]))*)"  # inner spaces only, trimmed outside
_HEADER = re.compile(rb"(" + _TOKEN + rb"):[ \t]*" + _VALUE + rb"[ \t]*")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_HEX = re.compile(rb"[0-9A-Fa-f]+")


class HttpError(Exception):
    """A request the server refuses; `status` is the response code, the text goes to the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class Request:
    method: str
    target: str
    version: str  # "HTTP/1.1" or "HTTP/1.0"
    headers: dict[str, str]  # lower-case names; repeated fields joined with ", "
    keep_alive: bool  # what the client asked for (RFC 9112 section 9.3)
    path: str
    query: str


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()


def json_reply(obj: object, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(status, json.dumps(obj).encode(), JSON, headers)


def error_reply(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return json_reply({"error": message}, status, headers)


def encode(reply: Reply, keep_alive: bool, head: bool = False) -> bytes:
    """The response as bytes: status line, headers, body (none for HEAD)."""
    lines = [
        f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Unknown')}",
        f"Content-Type: {reply.content_type}",
        f"Content-Length: {len(reply.body)}",
        "Connection: keep-alive" if keep_alive else "Connection: close",
    ]
    lines.extend(f"{name}: {value}" for name, value in reply.headers)
    head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head_bytes if head else head_bytes + reply.body


def response(request: Request, reply: Reply, keep_alive: bool) -> bytes:
    return encode(reply, keep_alive, head=request.method == "HEAD")


def error_response(error: HttpError) -> bytes:
    """The answer to a request the parser refused; the connection closes after it."""
    return encode(error_reply(error.status, error.message), keep_alive=False)


# Parser states.
_HEAD, _BODY, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER = range(6)


class RequestParser:
    """Incremental HTTP/1.x request parser: feed(bytes), then next() until it returns None."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0  # bytes of _buf already consumed
        self._scan = 0  # where to resume looking for the end of a head
        self._state = _HEAD
        self._remaining = 0  # body or chunk bytes still to discard
        self._body_size = 0  # chunked: bytes of body so far
        self._request: Request | None = None  # parsed head waiting for its body
        self._error: HttpError | None = None

    def feed(self, data: bytes) -> None:
        if self._pos:  # drop what was consumed: one copy per recv, not one per request
            del self._buf[: self._pos]
            self._scan = max(0, self._scan - self._pos)
            self._pos = 0
        self._buf += data

    @property
    def pending(self) -> bool:
        """True if part of a request has been received (bytes not yet consumed, or a body)."""
        return self._pos < len(self._buf) or self._state != _HEAD

    def next(self) -> Request | None:
        """The next complete request (its body read), None if more bytes are needed.

        Raises HttpError for a request to refuse, and keeps raising it afterwards."""
        if self._error is not None:
            raise self._error
        try:
            return self._next()
        except HttpError as error:
            self._error = error
            raise

    def _next(self) -> Request | None:
        while True:
            state = self._state
            if state == _HEAD:
                request = self._head()
                if request is None or self._state == _HEAD:
                    return request  # incomplete, or complete without a body
                self._request = request
            elif state in (_BODY, _CHUNK_DATA):
                taken = min(self._remaining, len(self._buf) - self._pos)
                self._pos += taken
                self._remaining -= taken
                if self._remaining:
                    return None
                if state == _CHUNK_DATA:
                    self._state = _CHUNK_END
                else:
                    return self._finish()
            else:
                line = self._line()
                if line is None:
                    return None
                if state == _CHUNK_SIZE:
                    self._chunk_size(line)
                elif state == _CHUNK_END:
                    if line:
                        raise HttpError(400, "chunk data longer than its size")
                    self._state = _CHUNK_SIZE
                elif not line:  # _TRAILER: an empty line ends the body
                    return self._finish()
                elif not _HEADER.fullmatch(line):
                    raise HttpError(400, "malformed trailer field")

    def _finish(self) -> Request | None:
        request, self._request = self._request, None
        self._state = _HEAD
        return request

    def _line(self) -> bytes | None:
        """One line of chunked framing, without its CRLF (or bare LF)."""
        end = self._buf.find(b"\n", self._pos)
        if end < 0:
            if len(self._buf) - self._pos > MAX_CHUNK_LINE:
                raise HttpError(400, "chunk framing line too long")
            return None
        line = bytes(self._buf[self._pos : end]).removesuffix(b"\r")
        if end - self._pos > MAX_CHUNK_LINE:
            raise HttpError(400, "chunk framing line too long")
        self._pos = end + 1
        return line

    def _chunk_size(self, line: bytes) -> None:
        size = line.split(b";", 1)[0].strip(b" \t")  # chunk extensions are ignored
        if not _HEX.fullmatch(size):
            raise HttpError(400, "invalid chunk size")
        size = size.lstrip(b"0") or b"0"
        if len(size) > 8 or self._body_size + int(size, 16) > MAX_BODY:
            raise HttpError(413, f"request body larger than {MAX_BODY} bytes")
        self._remaining = int(size, 16)
        self._body_size += self._remaining
        self._state = _CHUNK_DATA if self._remaining else _TRAILER

    def _head(self) -> Request | None:
        buf = self._buf
        pos = self._pos
        while pos < len(buf) and buf[pos] in b"\r\n":  # RFC 9112 2.2: skip empty lines first
            pos += 1
        self._pos = pos
        found = _HEAD_END.search(buf, max(pos, self._scan - 3))
        if found is None:
            self._scan = len(buf)
            if len(buf) - pos > MAX_HEAD:
                raise HttpError(431, f"request head larger than {MAX_HEAD} bytes")
            return None
        if found.end() - pos > MAX_HEAD:
            raise HttpError(431, f"request head larger than {MAX_HEAD} bytes")
        head = bytes(buf[pos : found.start()])
        self._pos = self._scan = found.end()
        return self._parse_head(head)

    def _parse_head(self, head: bytes) -> Request:
        lines = head.split(b"\n")
        matched = _REQUEST_LINE.fullmatch(lines[0].removesuffix(b"\r"))
        if matched is None:
            raise HttpError(400, "malformed request line")
        method, target, version = (part.decode("latin-1") for part in matched.groups())
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            raise HttpError(505, f"HTTP version {version[5:]} is not supported")

        headers: dict[str, str] = {}
        for raw in lines[1:]:
            field = _HEADER.fullmatch(raw.removesuffix(b"\r"))
            if field is None:
                raise HttpError(400, "malformed header field")
            name = field[1].decode("latin-1").lower()
            value = field[2].decode("latin-1")
            if name not in headers:
                headers[name] = value
            elif name == "host":
                raise HttpError(400, "more than one Host header")
            else:
                headers[name] += ", " + value
        if version == "HTTP/1.1" and "host" not in headers:
            raise HttpError(400, "HTTP/1.1 request without a Host header")

        self._body_framing(headers, version)

        tokens = headers.get("connection", "").lower()
        tokens = {token.strip() for token in tokens.split(",")} if tokens else set()
        if version == "HTTP/1.1":
            keep_alive = "close" not in tokens
        else:
            keep_alive = "keep-alive" in tokens and "close" not in tokens

        if target.startswith("/"):
            path, _, query = target.partition("?")
        else:  # absolute-form "http://host/path?query"; "*" and the rest end up as 404s
            parts = urlsplit(target) if "://" in target else None
            path, query = (parts.path or "/", parts.query) if parts else (target, "")
        return Request(method, target, version, headers, keep_alive, path, query)

    def _body_framing(self, headers: dict[str, str], version: str) -> None:
        coding = headers.get("transfer-encoding")
        length = headers.get("content-length")
        if coding is not None:
            if length is not None:
                raise HttpError(400, "both Content-Length and Transfer-Encoding")
            if version == "HTTP/1.0":
                raise HttpError(400, "Transfer-Encoding in an HTTP/1.0 request")
            if coding.strip().lower() != "chunked":
                raise HttpError(501, f"unsupported Transfer-Encoding: {coding[:40]}")
            self._state = _CHUNK_SIZE
            self._body_size = 0
        elif length is not None:
            values = {value.strip() for value in length.split(",")}
            value = values.pop()
            if values or not (value.isascii() and value.isdigit()):
                raise HttpError(400, "invalid Content-Length")
            value = value.lstrip("0") or "0"
            if len(value) > len(str(MAX_BODY)) or int(value) > MAX_BODY:
                raise HttpError(413, f"request body larger than {MAX_BODY} bytes")
            if value != "0":
                self._state = _BODY
                self._remaining = int(value)
