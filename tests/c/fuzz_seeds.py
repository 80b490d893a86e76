"""The fuzzer's seed corpus: the requests of the conformance suite, as a client sends them.

The cases come from the suite's own tables and parametrisations, so a case added there is
a seed here. `uv run python -m tests.c.fuzz_seeds` rewrites runtimes/c/fuzz/corpus/ (the
corpus `make fuzz` starts from); tests/c/test_fuzz.py checks that it is up to date.

A seed is one byte that picks the size of the chunks the harness feeds (1 to 16 bytes),
then the request bytes (runtimes/c/fuzz/parser_fuzz.c).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from types import SimpleNamespace

from lab import RUNTIMES_DIR
from tests.conformance import test_endpoints, test_errors, test_http, test_resilience
from tests.conformance.rawhttp import Connection

CORPUS_DIR = RUNTIMES_DIR / "c" / "fuzz" / "corpus"
MAX_LEN = 20_000  # the fuzz run's -max_len: a refused head is cut to fit
_CLIENT = SimpleNamespace(host="127.0.0.1", port=8080)


def request(path: str, method: str = "GET", headers: str = "", version: str = "HTTP/1.1",
            ) -> bytes:
    return Connection.request_bytes(_CLIENT, path, method, headers, version)


def parametrized(test: object, name: str) -> list:
    """The values a test function is parametrised with for argument `name`."""
    for mark in getattr(test, "pytestmark", []):
        if mark.name == "parametrize" and mark.args[0] == name:
            return list(mark.args[1])
    raise LookupError(f"{getattr(test, '__name__', test)} has no parametrisation of {name}")


def conformance_requests() -> list[bytes]:
    cases = [request(p) for p in ("/ping", "/info", "/cpu?ms=0", "/sleep?ms=100",
                                  "/cpu?ms=60&offload=1", "/work?n=0010",
                                  "/work?x=1&n=2&y=z")]
    cases += [request(f"/work?n={n}") for n in test_endpoints.WORK_GOLDEN]
    cases += [request(f"/hash?iter={n}&offload=1") for n in test_endpoints.HASH_GOLDEN]
    for path, (name, limit) in test_errors.PARAMETERS.items():
        cases += [request(test_errors.query(path, name, limit, bad))
                  for bad in test_errors.BAD_VALUES.values()]
    cases += [request(f"/work?n=1&offload={v}")
              for v in parametrized(test_errors.test_bad_offload_is_400, "value")]
    cases += [request(p) for p in parametrized(test_errors.test_unknown_path_is_404, "path")]
    cases += [request("/ping", method=m, headers="Content-Length: 0\r\n")
              for m in parametrized(test_errors.test_other_method_is_405_with_allow, "method")]
    cases += [request("/ping", method="HEAD"), request("/nope", method="POST",
                                                       headers="Content-Length: 0\r\n")]
    cases += parametrized(test_errors.test_malformed_request_is_400_and_closed, "raw")
    cases += parametrized(test_resilience.test_disconnect_mid_request, "partial")
    cases += [request(p) for p in parametrized(
        test_resilience.test_disconnect_while_the_request_is_handled, "path")]
    cases += [
        b"".join(request(p) for p in ("/sleep?ms=50", "/work?n=10", "/ping", "/nope",
                                      "/work?n=2")),
        request("/ping", headers="Connection: close\r\n"),
        request("/ping", version="HTTP/1.0"),
        b"GET /ping HTTP/1.1\r\n\r\n",
        request("/work?n=10", headers=test_http.padding_header(test_http.ACCEPTED_HEAD_BYTES)),
        request("/ping", headers=test_http.padding_header(test_http.REFUSED_HEAD_BYTES)),
        request("/ping", headers="Content-Length: 5000\r\n") + b"x" * 5000,
        request("/ping", headers=f"Content-Length: {test_http.BODY_LIMIT * 2}\r\n"),
        request("/ping", headers="Content-Length: abc\r\n"),
        request("/ping", headers="Transfer-Encoding: chunked\r\n") + b"5\r\nhello\r\n0\r\n\r\n",
        b"GET /info HTTP/1.1\r\nHost: x\r\n\r\n" * 50,
    ]
    return cases


def seeds() -> dict[str, bytes]:
    """File name -> seed, for every conformance request."""
    out: dict[str, bytes] = {}
    for index, raw in enumerate(conformance_requests()):
        seed = bytes([index % 16]) + raw[: MAX_LEN - 1]
        out[f"conformance-{hashlib.sha1(seed).hexdigest()[:12]}"] = seed
    return out


def write(folder: Path = CORPUS_DIR) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("conformance-*"):
        old.unlink()
    wanted = seeds()
    for name, seed in wanted.items():
        (folder / name).write_bytes(seed)
    return len(wanted)


if __name__ == "__main__":
    print(f"wrote {write()} seeds to {CORPUS_DIR}", file=sys.stderr)
