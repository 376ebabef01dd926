"""The first two stages: documents read and numbered, then repaired and prepared once per run.

* ``read`` provides ``documents``: every input record as an `Article` without
  a view, numbered in input order (``n``: the store's ``documents.n`` when a
  store is used). Without a store, two records with one id keep the later
  (the earlier is reported as a problem with its file and line).
* ``prepare`` provides ``articles``: each document repaired with what the
  corpus knows (an outlet's boilerplate lines, a glued headline's document)
  and normalized, tokenized and split into sentences once, as a `TextView`
  that every later stage reads. With a store the stored repairs are used.

The corpus knowledge is two keyed groupings: (outlet, line hash) → how many of
the outlet's documents carry the line, and headline key → the documents a
glued fragment may belong to. Neither needs the collection in one place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from khabar.document import Document
from khabar.engine import Dataset, batched, cogroup
from khabar.errors import KhabarError, Problem
from khabar.repair import (
    Repair,
    RepairContext,
    RepairOptions,
    TitleIndex,
    document_line_hashes,
    find_tail,
    headline_keys,
    line_key,
    repair,
)
from khabar.stage import Context, stage
from khabar.text.normalize import NormalizeOptions
from khabar.text.view import TextView, prepare

READ_BATCH = 256


@dataclass(slots=True)
class Article:
    """One document of a run: its number, the document, its repair and (once prepared) its
    `TextView`, the normalized form every stage reads."""

    n: int
    doc: Document
    repair: Repair | None = None
    view: TextView | None = None

    def __reduce__(self) -> tuple:
        # positional rebuild: much faster than the slots dataclass default (fields() per call)
        return (Article, (self.n, self.doc, self.repair, self.view))

    @property
    def id(self) -> str:
        return self.doc.id


@dataclass(frozen=True, slots=True)
class PrepareParams:
    repair: RepairOptions = field(default_factory=RepairOptions)
    normalize: NormalizeOptions = field(default_factory=NormalizeOptions)


def article_n(a: Article) -> int:
    return a.n


# -- read ------------------------------------------------------------------------------------------


def _numbered(docs: Iterable[Document], start: int = 0) -> Iterator[list[Article]]:
    n = start
    for batch in batched(docs, READ_BATCH):
        out = []
        for d in batch:
            out.append(Article(n, d))
            n += 1
        yield out


def _stored(store: Any) -> Iterator[list[Article]]:
    with store.snapshot() if hasattr(store, "snapshot") else _nothing():
        for batch in store.documents(batch_size=READ_BATCH, with_n=True):
            yield [Article(n, doc, rep) for n, doc, rep in batch]


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def id_hash(doc_id: str) -> int:
    """64 bits of a document id (two ids share them by a chance of 2^-64 per pair)."""
    return int.from_bytes(hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"),
                                          digest_size=8).digest(), "little")


def _id_arrays(batch: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    if not batch:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    return (np.concatenate([k for k, _ in batch]), np.concatenate([n for _, n in batch]))


def _repeated(keys: np.ndarray, ns: np.ndarray) -> list[np.ndarray]:
    """Numbers of the records whose id comes again later (all but the last of each id)."""
    if len(keys) < 2:
        return []
    later = np.zeros(len(keys), dtype=bool)
    later[:-1] = keys[1:] == keys[:-1]  # sorted by key then number: the last of a run stays
    return [ns[later]] if later.any() else []


def _concat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.concatenate([a, b])


def _ns(batch: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(batch) if batch else np.zeros(0, np.int64)


def _drop(batch: list[Article], dropped: Any) -> tuple[list[Article], list[Problem]]:
    gone = dropped.value
    kept, problems = [], []
    for a in batch:
        if a.n in gone:
            file, _, line = (a.doc.origin or "").rpartition(":")
            problems.append(Problem(file or (a.doc.origin or ""),
                                    int(line) if line.isdigit() else None, "duplicate-id",
                                    f"id {a.doc.id!r} comes again later in the input; "
                                    "the later record is used"))
        else:
            kept.append(a)
    return kept, problems


@stage("read", provides=("documents",))
def read_stage(ctx: Context, data: dict[str, Dataset], params: None) -> dict[str, Dataset]:
    """Documents from the inputs (or the store), numbered; one per id."""
    runner = ctx.runner
    inputs = ctx.options.get("inputs")
    store = ctx.store
    if store is not None:
        if inputs:
            report = store.ingest(inputs, fields=ctx.options.get("fields"),
                                  on_problem=ctx.on_problem)
            ctx.counts["read"] = {"ingest": report.as_dict()}
            ctx.echo(f"ingest: {report.summary()}")
        docs = runner.source(_stored(store))
    else:
        if inputs is None:
            raise KhabarError("nothing to read: give input files or a database")
        docs, ids = _parsed(runner, inputs, ctx)
        # the same id twice in one run: the later record is the document (as an update
        # would be with a store); the earlier one is reported where it was read
        repeated = ids.group_arrays(_id_arrays, _repeated).aggregate(
            _ns, _concat, np.zeros(0, np.int64))
        if len(repeated):
            docs, problems = docs.map_multi(_drop, 2, runner.broadcast(
                frozenset(repeated.tolist())))
            for p in problems.records():
                if ctx.on_problem is not None:
                    ctx.on_problem(p)
    count = docs.count()
    if count == 0:
        raise KhabarError("no documents could be read from the inputs given")
    ctx.counts.setdefault("read", {})["documents"] = count
    return {"documents": docs}


def _articles(batch: list[tuple[int, Document]]
              ) -> tuple[list[Article], list[tuple[np.ndarray, np.ndarray]]]:
    """(n, Document) records as articles, and the hashes of their ids (to find repeats)."""
    arts = [Article(n, d) for n, d in batch]
    keys = np.fromiter((id_hash(d.id) for _, d in batch), dtype=np.uint64, count=len(batch))
    ns = np.fromiter((n for n, _ in batch), dtype=np.int64, count=len(batch))
    return arts, [(keys, ns)]


def _parsed(runner: Any, inputs: Any, ctx: Context) -> tuple[Dataset, Dataset]:
    from khabar.io.readers import Fields

    fields = ctx.options.get("fields") or Fields()
    items = inputs if isinstance(inputs, list | tuple) else [inputs]
    if items and all(isinstance(x, Document) for x in items):
        numbered = runner.source(batched(enumerate(items), READ_BATCH))
    else:
        numbered = runner.read_documents(items, fields, ctx.on_problem)
    docs, ids = numbered.map_multi(_articles, 2)
    return docs, ids


def _as_documents(inputs: Any, ctx: Context) -> Iterable[Document]:
    items = inputs if isinstance(inputs, list | tuple) else [inputs]
    if items and all(isinstance(x, Document) for x in items):
        return items
    if items and all(isinstance(x, str) and not _looks_like_path(x) for x in items) \
            and ctx.options.get("texts"):
        return [Document(id=str(i), text=t) for i, t in enumerate(items)]
    from khabar.io.readers import Fields, read

    return read(items, fields=ctx.options.get("fields") or Fields(), on_problem=ctx.on_problem)


def _looks_like_path(x: str) -> bool:
    return "\n" not in x and len(x) < 4096


# -- prepare ---------------------------------------------------------------------------------------


def _text_key(text: str, hashes: set[str]) -> str:
    """What makes two documents of an outlet the same text (copies of one article)."""
    return hashlib.blake2b(f"{len(text)}:{','.join(sorted(hashes))}".encode(),
                           digest_size=8).hexdigest()


def _line_keys(batch: list[Article], opts: RepairOptions) -> list[tuple[tuple[str, str], str]]:
    """((outlet, line hash), text key) of every short line of every document."""
    out = []
    for a in batch:
        if a.doc.source:
            hashes = document_line_hashes(a.doc.text, opts)
            key = _text_key(a.doc.text, hashes)
            out.extend(((a.doc.source, h), key) for h in hashes)
    return out


def _boilerplate(key: tuple[str, str], texts: list[str], opts: RepairOptions
                 ) -> list[tuple[str, str, int]]:
    # a text one outlet publishes many times is copies of one article, not boilerplate:
    # documents with the same text count once
    count = len(set(texts))
    return [(key[0], key[1], count)] if count >= opts.boilerplate_min_docs else []


def _source_texts(batch: list[Article], opts: RepairOptions) -> list[tuple[str, str]]:
    return [(a.doc.source, _text_key(a.doc.text, document_line_hashes(a.doc.text, opts)))
            for a in batch if a.doc.source]


def _distinct_texts(source: str, keys: list[str], _opts: RepairOptions) -> list[tuple[str, int]]:
    return [(source, len(set(keys)))]


def _tails(batch: list[Article], opts: RepairOptions) -> list[tuple[str, tuple]]:
    out = []
    for a in batch:
        m = find_tail(a.doc.text, opts)
        if m:
            frag = m.group("frag")
            out.append((line_key(frag), ("tail", a.n, a.doc.id, frag.strip())))
    return out


def _heads(batch: list[Article], opts: RepairOptions, tails: Any) -> list[tuple[str, tuple]]:
    # a fragment matches a headline key equal to it or starting with it at a word boundary,
    # so each key is offered under every prefix long enough to be a fragment (only those
    # some fragment has: fragments are rare, headline prefixes are not)
    wanted = tails.value
    out = []
    for a in batch:
        for key in headline_keys(a.doc.text, a.doc.title, opts):
            words = key.split(" ")
            for k in range(opts.headline_min_tokens, len(words) + 1):
                prefix = " ".join(words[:k])
                if prefix in wanted:
                    out.append((prefix, ("head", a.n, a.doc.id, k == len(words))))
    return out


def _tail_set(batch: list[tuple[str, tuple]]) -> set[str]:
    return {key for key, _ in batch}


def _union(a: set[str], b: set[str]) -> set[str]:
    return a | b


def _tail_records(batch: list[Article], opts: RepairOptions) -> list[tuple[str, tuple]]:
    return _tails(batch, opts)


def _same(batch: list[tuple[str, tuple]]) -> list[tuple[str, tuple]]:
    return batch


def _links(key: str, sides: list[list[tuple]], _opts: RepairOptions
           ) -> list[tuple[int, tuple]]:
    tails = sorted(sides[0])
    heads = sorted(((not v[3], v[1]), v[2]) for v in sides[1])
    out = []
    for _, n, _doc_id, frag in tails:
        best = next(((hn, hid) for (_, hn), hid in heads if hn != n), None)
        if best is not None:
            out.append((n, ("link", key, best[1], best[0], frag)))
    return out


def _context_of(batch: list[tuple[int, tuple]]) -> tuple[dict[int, tuple], dict[int, tuple]]:
    """(links by the number of the document whose tail they cut, titles by the number of the
    document a fragment names, the first fragment by document number winning)."""
    links: dict[int, tuple] = {}
    titles: dict[int, tuple] = {}
    for n, link in batch:
        links[n] = min(links.get(n, link), link)
        target = link[3]
        titles[target] = min(titles.get(target, (n, link[4])), (n, link[4]))
    return links, titles


def _merge_context(a: tuple[dict, dict], b: tuple[dict, dict]) -> tuple[dict, dict]:
    links = dict(a[0])
    for n, link in b[0].items():
        links[n] = min(links.get(n, link), link)
    titles = dict(a[1])
    for n, t in b[1].items():
        titles[n] = min(titles.get(n, t), t)
    return links, titles


def _with_context(batch: list[Article], context: Any) -> list[tuple[Article, Any]]:
    boiler, links, titles = context.value
    out = []
    for a in batch:
        title = titles.get(a.n)
        out.append((a, (links.get(a.n), title[1] if title else None,
                        boiler.get(a.doc.source or ""))))
    return out


def _prepare_batch(batch: list[tuple[Article, Any]], params: PrepareParams) -> list[Article]:
    arts = [a for a, _ in batch]
    reps = []
    for a, (link, title, hashes) in batch:
        if a.repair is not None:
            reps.append(a.repair)
            continue
        ctx = None
        if link is not None or hashes:
            ctx = RepairContext(
                boilerplate={a.doc.source or "": set(hashes)} if hashes else {},
                titles=TitleIndex([(link[1], link[2])] if link else []),
            )
        rep = repair(a.doc.text, a.doc.id, a.doc.source, ctx, params.repair)
        if rep.title is None and title is not None:
            rep.title = title
        reps.append(rep)
    views = prepare([a.doc for a in arts], reps, options=params.normalize)
    return [Article(a.n, a.doc, r, v) for a, r, v in zip(arts, reps, views, strict=True)]


def _prepare_and_steps(batch: list[tuple[Article, Any]], params: PrepareParams,
                       steps: list[tuple[Any, Any]]) -> tuple[list[Any], ...]:
    """One pass per article: repair, the text layer, then every stage's article step on the
    prepared view; what goes on is the article without its view (later steps that show
    text read the original and its repair, and the view is cheaper to rebuild than to
    move between processes)."""
    arts = _prepare_batch(batch, params)
    outputs: list[list[Any]] = []
    for step, step_params in steps:
        outputs.extend(step.fn(arts, step_params))
    return ([Article(a.n, a.doc, a.repair) for a in arts], *outputs)


def _plain(batch: list[Article]) -> list[tuple[Article, Any]]:
    return [(a, (None, None, None)) for a in batch]


@stage("prepare", params=PrepareParams, requires=("documents",), provides=("articles",))
def prepare_stage(ctx: Context, data: dict[str, Dataset], params: PrepareParams
                  ) -> dict[str, Dataset]:
    """Repair with corpus knowledge, normalize, tokenize and split sentences, once."""
    docs = data["documents"]
    steps = ctx.options.get("article_steps") or []
    names = ["articles"] + [n for step, _ in steps for n in step.outputs]
    if ctx.store is not None:
        # stored documents carry the repairs ingest made with corpus knowledge
        made = docs.map(_plain).map_multi(_prepare_and_steps, len(names), params, steps)
        return dict(zip(names, made, strict=True))
    opts = params.repair
    per_source = dict(r for b in docs.group(_source_texts, _distinct_texts, opts).batches()
                      for r in b)
    counted = [r for b in docs.group(_line_keys, _boilerplate, opts).batches() for r in b]
    boiler: dict[str, list[str]] = {}
    for source, h, c in sorted(counted):
        if c >= opts.boilerplate_min_share * per_source.get(source, 0):
            boiler.setdefault(source, []).append(h)
    tails = docs.map(_tail_records, opts)
    wanted = ctx.runner.broadcast(frozenset(tails.aggregate(_tail_set, _union, set())))
    heads = docs.map(_heads, opts, wanted)
    links = cogroup([tails, heads], [_same, _same], _links, opts)
    # what the corpus tells single documents is small (an outlet's boilerplate lines, the
    # few glued headlines): it travels to every task, and articles keep their partitions
    known = links.aggregate(_context_of, _merge_context, ({}, {}))
    context = ctx.runner.broadcast((boiler, *known))
    with_context = docs.map(_with_context, context)
    ctx.counts["prepare"] = {"boilerplate_lines": sum(len(v) for v in boiler.values())}
    made = with_context.map_multi(_prepare_and_steps, len(names), params, steps)
    return dict(zip(names, made, strict=True))


__all__ = ["Article", "PrepareParams", "article_n", "prepare_stage", "read_stage"]
