"""The parameters of story clustering, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

from khabar.stories.features import FeatureParams
from khabar.stories.similarity import DEFAULT_MODEL, PairParams, SimilarityModel
from khabar.stories.threads import ThreadParams


@dataclass(frozen=True, slots=True)
class StoryParams:
    """How articles are grouped into stories (batch and stream alike)."""

    threshold: float = 0.5
    """Least average same-event probability between an article (or group) and a story for
    them to be put together. Higher: fewer, purer stories. Default 0.5."""
    pairs: PairParams = field(default_factory=PairParams)
    """Which pairs are compared and how (time scale and window in days, corpus stopwords)."""
    features: FeatureParams = field(default_factory=FeatureParams)
    """How articles become features (lead length, hashed space)."""
    model: SimilarityModel = DEFAULT_MODEL
    """Weights of the pair score."""
    threads: ThreadParams | None = field(default_factory=ThreadParams)
    """How stories are linked into threads (None: no threads)."""
    refresh: int = 1000
    """Streaming: document frequencies are refreshed every this many articles (and at 64,
    128, … before that), at positions that do not depend on how articles are batched."""

    @classmethod
    def make(cls, threshold: float | None = None, window: float | None = None,
             time_scale: float | None = None, **kw) -> StoryParams:
        """StoryParams with the common options given flat (as the CLI does)."""
        pairs = PairParams()
        changes = {}
        if window is not None:
            changes["window"] = window
        if time_scale is not None:
            changes["time_scale"] = time_scale
        if changes:
            from dataclasses import replace

            pairs = replace(pairs, **changes)
        if threshold is not None:
            kw["threshold"] = threshold
        return cls(pairs=pairs, **kw)
