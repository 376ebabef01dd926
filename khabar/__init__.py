"""khabar: an engine for collections of Arabic news.

The public API is re-exported here lazily, so `import khabar` is cheap and a
notebook user finds everything under one name:

    import khabar
    docs = list(khabar.read(["articles.jsonl"]))
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_API: dict[str, str] = {
    "Document": "khabar.document",
    "KhabarError": "khabar.errors",
    "Problem": "khabar.errors",
    "read": "khabar.io.readers",
    "Fields": "khabar.io.readers",
    "parse_date": "khabar.io.dates",
    "OffsetMap": "khabar.text.offsets",
    "Normalizer": "khabar.text.normalize",
    "NormalizeOptions": "khabar.text.normalize",
    "normalize": "khabar.text.normalize",
    "tokenize": "khabar.text.tokenize",
    "split_sentences": "khabar.text.sentences",
    "TextView": "khabar.text.view",
    "view": "khabar.text.view",
    "prepare": "khabar.text.view",
    "IngestReport": "khabar.ingest",
    "RepairContext": "khabar.repair",
    "Store": "khabar.store",
    "run_pipeline": "khabar.pipeline",
    "PipelineParams": "khabar.pipeline",
    "find_duplicates": "khabar.dups",
    "DupParams": "khabar.dups",
    "DupPair": "khabar.dups",
    "DupCluster": "khabar.dups",
    "DupResult": "khabar.dups",
    "load_pairs": "khabar.dups",
    "find_reuse": "khabar.reuse",
    "reuse_store": "khabar.reuse",
    "load_passages": "khabar.reuse",
    "Passage": "khabar.reuse",
    "ReuseOptions": "khabar.reuse",
    "cluster_stories": "khabar.stories",
    "StoryParams": "khabar.stories",
    "StoryStream": "khabar.stories",
    "ThreadParams": "khabar.stories",
    "load_threads": "khabar.stories",
    "explain_story": "khabar.explain",
    "novelty": "khabar.explain",
    "summarize": "khabar.explain",
    "attributions": "khabar.explain",
    "mentions": "khabar.explain",
    "story_sources": "khabar.explain",
}


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is not None:
        return getattr(importlib.import_module(module), name)
    # submodules by name (khabar.repair, khabar.ingest, …) without an explicit import
    try:
        return importlib.import_module(f"khabar.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"khabar.{name}":
            raise
    raise AttributeError(f"module 'khabar' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
