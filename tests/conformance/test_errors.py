"""Bad input gets a clear 4xx (runtimes/SPEC.md sections 2-4); the server keeps serving."""

from __future__ import annotations

import re

import pytest

from tests.conformance.rawhttp import Connection, Response, get

PARAMETERS = {"/cpu": ("ms", 10_000), "/sleep": ("ms", 10_000),
              "/work": ("n", 100_000_000), "/hash": ("iter", 1_000_000)}
BAD_VALUES = {
    "missing": None,
    "empty": "",
    "negative": "-1",
    "plus-sign": "+5",
    "non-numeric": "abc",
    "float": "1.5",
    "exponent": "1e3",
    "hex": "0x10",
    "overflow": "99999999999999999999999",
    "over-limit": "LIMIT+1",
    "duplicated": "DUP",
}


def query(path: str, name: str, limit: int, bad: str | None) -> str:
    if bad is None:
        return path
    if bad == "LIMIT+1":
        return f"{path}?{name}={limit + 1}"
    if bad == "DUP":
        return f"{path}?{name}=1&{name}=2"
    return f"{path}?{name}={bad}"


def assert_json_error(response: Response, status: int) -> dict:
    assert response.status == status, response
    assert response.media_type == "application/json", response
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    return body


@pytest.mark.parametrize("kind", list(BAD_VALUES))
@pytest.mark.parametrize("path", list(PARAMETERS))
def test_bad_parameter_is_400_naming_it(server, path: str, kind: str) -> None:
    name, limit = PARAMETERS[path]
    response = get(server.host, server.port, query(path, name, limit, BAD_VALUES[kind]))
    body = assert_json_error(response, 400)
    assert name in body["error"], f"the error should name '{name}': {body}"


@pytest.mark.parametrize("value", ["5+", "%2B5", "%205", "%zz", "%3", "5%", "%31%zz",
                                   "%EF%BC%91", "5&n=%zz"],
                         ids=["plus-is-a-space", "encoded-plus", "encoded-space",
                              "invalid-escape", "truncated-escape", "lone-percent",
                              "escape-then-invalid", "fullwidth-digit", "repeated-invalid"])
def test_decoded_value_that_is_not_digits_is_400(server, value: str) -> None:
    """'+' decodes to a space and an invalid escape stays as it is (SPEC section 4): either
    way the value is not digits."""
    response = get(server.host, server.port, f"/work?n={value}")
    assert re.search(r"\bn\b", assert_json_error(response, 400)["error"]), "should name 'n'"


@pytest.mark.smoke
def test_zero_iterations_is_400(server) -> None:
    assert_json_error(get(server.host, server.port, "/hash?iter=0"), 400)


@pytest.mark.parametrize("value", ["2", "yes", "", "-1", "true"])
def test_bad_offload_is_400(server, value: str) -> None:
    response = get(server.host, server.port, f"/work?n=1&offload={value}")
    assert "offload" in assert_json_error(response, 400)["error"]


@pytest.mark.parametrize("path", ["/", "/nope", "/ping/", "/PING", "/pingx", "/info/x"])
def test_unknown_path_is_404(server, path: str) -> None:
    assert_json_error(get(server.host, server.port, path), 404)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_method_is_405_with_allow(server, method: str) -> None:
    with Connection(server.host, server.port) as conn:
        response = conn.request("/ping", method=method, headers="Content-Length: 0\r\n")
        assert_json_error(response, 405)
        assert response.header("allow") == "GET"


@pytest.mark.smoke
def test_head_is_405_without_a_body(server) -> None:
    with Connection(server.host, server.port) as conn:
        response = conn.request("/ping", method="HEAD")
        assert response.status == 405
        assert conn.request("/ping").body == b"pong", "a HEAD reply must not carry a body"


@pytest.mark.smoke
def test_unknown_path_with_other_method_is_404(server) -> None:
    with Connection(server.host, server.port) as conn:
        response = conn.request("/nope", method="POST", headers="Content-Length: 0\r\n")
        assert_json_error(response, 404)


@pytest.mark.parametrize("raw", [
    b"NOT A REQUEST\r\n\r\n",
    b"GET /ping HTTP/1.1\r\nHost: x\r\nThis line has no colon\r\n\r\n",
    b"GET /ping HTTP/1.1 trailing\r\nHost: x\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
], ids=["not-a-request", "header-without-colon", "extra-token", "tls-hello"])
def test_malformed_request_is_400_and_closed(server, raw: bytes) -> None:
    with Connection(server.host, server.port) as conn:
        conn.send(raw)
        assert conn.read_response().status == 400
        assert conn.closed_by_peer()
