"""Which native deployments may skip: LAB_REQUIRE_NATIVE=1 turns a skip into a failure,
except for a runtime whose toolchain the host's own files cannot install (native_optional)."""

from __future__ import annotations

from lab.targets import discover
from tests import deployments


class Options:
    """The two options deployment_params reads from pytest's config."""

    def getoption(self, name: str):
        return {"--target": [], "--backend": "native"}[name]


def test_only_native_optional_runtimes_skip_when_native_is_required(monkeypatch) -> None:
    monkeypatch.setenv("LAB_REQUIRE_NATIVE", "1")
    monkeypatch.setattr(deployments, "_native_skip_reason", lambda runtime: "toolchain missing")
    optional = {t.name for t in discover() if t.runtime.native_optional}
    assert optional, "the test needs a runtime with native_optional (java)"
    for param in deployments.deployment_params(Options()):
        skips = [m for m in param.marks if m.name == "skip"]
        name = param.values[0].target_name
        if name in optional:
            (skip,) = skips
            assert skip.kwargs["reason"].startswith("toolchain missing (")
        else:
            assert not skips, f"{name} may not skip when native is required"


def test_nothing_skips_where_every_toolchain_is_present(monkeypatch) -> None:
    monkeypatch.setattr(deployments, "_native_skip_reason", lambda runtime: None)
    params = deployments.deployment_params(Options())
    assert params and not any(m.name == "skip" for p in params for m in p.marks)

