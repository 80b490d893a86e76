"""A scaffolded runtime's Dockerfile builds from Debian packages, and its image answers
/ping in the lab's hardened container (read-only root, uid 10001, no capabilities)."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest

from lab.scaffold import LANGUAGES, scaffold
from lab.targets import discover


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_a_scaffolded_image_answers_ping(docker_backend, language: str, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_RUNTIMES_PATH", str(tmp_path))
    scaffold(f"scaffolded-{language}", language, tmp_path)
    target = next(t for t in discover() if t.runtime.name == f"scaffolded-{language}")
    docker_backend.build(target.runtime)
    with docker_backend.serve(target) as server:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
        try:
            conn.request("GET", "/ping")
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b"pong")
        finally:
            conn.close()
