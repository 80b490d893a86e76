"""The parser under libFuzzer (runtimes/c/fuzz/parser_fuzz.c), seeded with the suite's cases.

A bounded run here (LAB_C_FUZZ_SECONDS, default 60); `make -C runtimes/c fuzz` runs
longer (FUZZ_SECONDS, default 600). A crash, a sanitizer report, a leak, or an input that
parses differently when fed in pieces fails the run and leaves the input in the test's
temporary folder.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.c import fuzz_seeds
from tests.c.native import C_DIR, make, need

FUZZ_SECONDS = int(os.environ.get("LAB_C_FUZZ_SECONDS", "60"))


def test_the_committed_corpus_holds_every_conformance_case() -> None:
    stale = {name for name, seed in fuzz_seeds.seeds().items()
             if not (fuzz_seeds.CORPUS_DIR / name).is_file()
             or (fuzz_seeds.CORPUS_DIR / name).read_bytes() != seed}
    assert not stale, f"{len(stale)} seeds missing: run `uv run python -m tests.c.fuzz_seeds`"


def test_the_parser_survives_a_bounded_fuzz_run(tmp_path: Path) -> None:
    need("clang", "make")
    make("fuzz-build")
    seeds = tmp_path / "seeds"
    fuzz_seeds.write(seeds)
    found = tmp_path / "corpus"
    found.mkdir()
    result = subprocess.run(
        [str(C_DIR / "build" / "fuzz" / "parser"), f"-max_total_time={FUZZ_SECONDS}",
         f"-max_len={fuzz_seeds.MAX_LEN}", "-timeout=10", "-print_final_stats=1",
         f"-artifact_prefix={tmp_path}/", str(found), str(seeds)],
        capture_output=True, text=True, timeout=FUZZ_SECONDS + 120)
    log = result.stderr
    assert result.returncode == 0, f"the fuzzer found a problem (input in {tmp_path}):\n" \
                                   + log[-6000:]
    runs = re.search(r"stat::number_of_executed_units: (\d+)", log)
    assert runs and int(runs[1]) > 10_000, log[-2000:]
    print(f"fuzzed the parser for {FUZZ_SECONDS} s: {runs[1]} inputs, no finding")
