"""The stage contract: what a stage needs, what it gives, and the registry the pipeline walks.

A stage is a function that turns the datasets it *requires* into the datasets
it *provides*, by handing steps to the runner (`khabar.engine.dataset`); it
never loops over a collection itself and never starts processes. Each stage
registers itself with `stage(...)`, naming its parameter class (a frozen
dataclass whose fields carry their defaults and reasons) and the datasets it
reads and writes; `khabar.pipeline` resolves the order from those names, so a
new stage is one module and one decorator::

    @stage("reuse", params=ReuseOptions, requires=("articles",), provides=("passages",),
           outputs=(Output("passages", "passages.jsonl", Passage, Passage.key),))
    def reuse_stage(ctx: Context, data: dict[str, Dataset], params: ReuseOptions):
        ...
        return {"passages": passages}

Outputs are the datasets a user gets as files (``data/NAME.jsonl`` next to a
report, or the ``--out`` of a stage's command) and as tables in a store:
each names its record type, so the file and the table are derived from it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khabar.engine import Dataset, Runner
from khabar.errors import KhabarError, Problem

Echo = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Output:
    """A provided dataset that users get as a file (and a table, with a store)."""

    dataset: str
    file: str
    """File name under the output folder, e.g. ``passages.jsonl``."""
    record: type
    key: Callable[[Any], Any]
    """Sort key of the rows (files are always written in this order)."""
    number: str | None = None
    """A field set to each row's 0-based rank in that order (e.g. a cluster number)."""


@dataclass(frozen=True, slots=True)
class ArticleStep:
    """A stage's per-article work, run inside the one pass that prepares each article.

    ``fn(batch, params)`` takes prepared `khabar.corpus.Article`s (with their `TextView`)
    and returns one list per name in `outputs`. When a run prepares its articles, the
    pipeline runs every planned stage's article step in that pass, so each article is
    normalized, tokenized and read once per run; a stage run on raw documents alone
    (``khabar dups FILE``) runs its step itself.
    """

    outputs: tuple[str, ...]
    fn: Callable[..., tuple[list[Any], ...]]


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    params: type | None
    requires: tuple[str, ...]
    provides: tuple[str, ...]
    build: Callable[[Context, dict[str, Dataset], Any], dict[str, Dataset]]
    outputs: tuple[Output, ...] = ()
    optional: tuple[str, ...] = ()
    """Datasets used when the run has them anyway (e.g. duplicate evidence for stories),
    never a reason to run another stage."""
    article: ArticleStep | None = None
    doc: str = ""


@dataclass
class Context:
    """What a running stage may use besides its datasets."""

    runner: Runner
    params: dict[str, Any] = field(default_factory=dict)
    """Stage name -> its parameters (missing: the parameter class's defaults)."""
    store: Any = None
    """A `khabar.store.Store` when the run keeps its results, else None."""
    out: Path | None = None
    """The output folder given by the user, if any (pages and files go only there)."""
    echo: Echo = field(default=lambda _line: None)
    on_problem: Callable[[Problem], None] | None = None
    counts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Stage name -> what it reports (numbers shown on the command line)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Run-wide options (input fields, the story mode, the report's minimum size…)."""

    def params_of(self, name: str) -> Any:
        if name in self.params and self.params[name] is not None:
            return self.params[name]
        st = get(name)
        return st.params() if st.params is not None else None


_REGISTRY: dict[str, Stage] = {}
_MODULES = ("khabar.corpus", "khabar.dups.stage", "khabar.reuse.stage", "khabar.stories.stage",
            "khabar.stories.thread_stage", "khabar.explain.stage", "khabar.report.stage")
"""Where the built-in stages live (imported on first use of the registry)."""


def stage(name: str, *, params: type | None = None, requires: Sequence[str] = (),
          provides: Sequence[str] = (), outputs: Sequence[Output] = (),
          optional: Sequence[str] = (), article: ArticleStep | None = None
          ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as stage `name`."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _REGISTRY[name] = Stage(name, params, tuple(requires), tuple(provides), fn,
                                tuple(outputs), tuple(optional), article,
                                (fn.__doc__ or "").strip())
        return fn

    return register


def _load() -> None:
    for module in _MODULES:
        importlib.import_module(module)


def stages() -> list[Stage]:
    """Every registered stage, in an order where each comes after what it requires."""
    _load()
    return plan(list(_REGISTRY))


def get(name: str) -> Stage:
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KhabarError(f"unknown stage {name!r}; stages: {', '.join(sorted(_REGISTRY))}"
                          ) from None


def plan(targets: Iterable[str]) -> list[Stage]:
    """The stages needed to run `targets`, each after the stages providing what it requires.

    When the run prepares articles, every stage with an article step comes after the
    prepare stage: its step runs in that pass (see `ArticleStep`)."""
    _load()
    targets = list(targets)
    first = _plan(targets, prepared=False, planned=set())
    names = {st.name for st in first}
    # optional datasets order a stage after their provider when the run has it anyway
    return _plan(targets, prepared="prepare" in names, planned=names)


def _plan(targets: list[str], prepared: bool, planned: set[str]) -> list[Stage]:
    provider = {d: s for s in _REGISTRY.values() for d in s.provides}
    order: list[Stage] = []
    seen: set[str] = set()

    def needs(st: Stage) -> tuple[str, ...]:
        out = list(st.requires)
        if prepared and st.article is not None and "articles" not in out:
            out.append("articles")
        out += [d for d in st.optional if d in provider and provider[d].name in planned
                and provider[d].name != st.name and d not in out]
        return tuple(out)

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in seen:
            return
        if name in path:
            raise KhabarError(f"stages require each other in a circle: {' -> '.join(path)}")
        st = get(name)
        for need in needs(st):
            if need not in provider:
                raise KhabarError(f"stage {name!r} requires {need!r}, which no stage provides")
            visit(provider[need].name, (*path, name))
        seen.add(name)
        order.append(st)

    for t in targets:
        visit(t, ())
    return order


def article_outputs(step: ArticleStep, data: dict[str, Any], params: Any) -> list[Any]:
    """The datasets of an article step: made in the run's prepare pass, or here from the
    documents when the run prepares nothing."""
    if all(name in data for name in step.outputs):
        return [data[name] for name in step.outputs]
    source = data.get("articles") or data["documents"]
    return source.map_multi(step.fn, len(step.outputs), params)


__all__ = ["ArticleStep", "Context", "Output", "Stage", "article_outputs", "get", "plan",
           "stage", "stages"]
