"""User-facing errors and per-record problems.

A `KhabarError` is a mistake the user can fix (a missing file, a bad option):
the CLI prints its message on one line and exits non-zero, never a traceback.
A `Problem` is one bad record inside otherwise good input: it is reported,
counted, and the run goes on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from khabar.pickling import fast_pickle


class KhabarError(Exception):
    """An error caused by input or options, reported to the user as one line."""


@fast_pickle
@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    reason: str
    """A short stable key for counting: `decode`, `json`, `no-text`, `no-id`, `csv`, `format`…"""
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


ProblemSink = Callable[[Problem], None]


class ProblemLog:
    """Collects problems and counts them by reason; callable as a `ProblemSink`."""

    def __init__(self, echo: Callable[[str], None] | None = None, keep: int = 10_000) -> None:
        self.counts: Counter[str] = Counter()
        self.problems: list[Problem] = []
        self._echo = echo
        self._keep = keep

    def __call__(self, problem: Problem) -> None:
        self.counts[problem.reason] += 1
        if len(self.problems) < self._keep:
            self.problems.append(problem)
        if self._echo is not None:
            self._echo(str(problem))

    @property
    def total(self) -> int:
        return sum(self.counts.values())
