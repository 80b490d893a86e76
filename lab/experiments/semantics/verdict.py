"""A probe's run against its declared trace and outcome: the verdict and why."""

from __future__ import annotations

from dataclasses import dataclass

from lab.backends import ProgramRun
from lab.experiments.semantics.probes import NOT_APPLICABLE_STATUS, Probe

AS_EXPECTED = "as expected"
UNEXPECTED = "unexpected"
NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True)
class Verdict:
    verdict: str
    explanation: str
    observed: tuple[str, ...]

    @property
    def as_expected(self) -> float | None:
        """1 or 0, the tidy value; None when the probe does not apply."""
        return None if self.verdict == NOT_APPLICABLE else float(self.verdict == AS_EXPECTED)


def trace(stdout: str) -> tuple[str, ...]:
    """The observed trace: stdout's non-empty lines, without surrounding blanks."""
    return tuple(line.strip() for line in stdout.splitlines() if line.strip())


def difference(expected: tuple[str, ...], observed: tuple[str, ...]) -> str:
    """Where two traces first part, in words ('' when they are the same)."""
    for number, (want, got) in enumerate(zip(expected, observed, strict=False), 1):
        if want != got:
            return f"line {number} is '{got}' where '{want}' was expected"
    if len(observed) < len(expected):
        return (f"the trace stops after {len(observed)} of {len(expected)} lines, before "
                f"'{expected[len(observed)]}'")
    if len(observed) > len(expected):
        return (f"the trace has {len(observed) - len(expected)} line(s) more than expected, "
                f"from '{observed[len(expected)]}'")
    return ""


def judge(probe: Probe, run: ProgramRun) -> Verdict:
    observed = trace(run.stdout)
    if not run.timed_out and run.returncode == NOT_APPLICABLE_STATUS:
        return Verdict(NOT_APPLICABLE, " ".join(observed) or "the probe says it does not "
                       "apply here", observed)
    deadline = f"{probe.deadline_s:g} s deadline"
    problems = []
    if probe.outcome == "deadline" and not run.timed_out:
        problems.append(f"it should have hung until the {deadline}, but it exited with "
                        f"status {run.returncode} after {run.wall_seconds:.2f} s")
    elif probe.outcome == "exit" and run.timed_out:
        problems.append(f"it should have finished, but the {deadline} killed it")
    elif probe.outcome == "exit" and run.returncode != 0:
        last = (run.stderr.strip().splitlines() or [""])[-1]
        problems.append(f"it exited with status {run.returncode}" + (f" ({last})" if last else ""))
    if differs := difference(probe.expected, observed):
        problems.append(differs)
    if problems:
        return Verdict(UNEXPECTED, "; ".join(problems), observed)
    lines = f"{len(observed)} expected line{'s' if len(observed) != 1 else ''}"
    if probe.outcome == "deadline":
        return Verdict(AS_EXPECTED, f"it hung, as the lesson says: the {deadline} killed it "
                       f"after its {lines}", observed)
    return Verdict(AS_EXPECTED, f"it printed its {lines} and exited 0 in "
                   f"{run.wall_seconds:.2f} s", observed)
