"""Parameters of duplicate detection."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from khabar.errors import KhabarError
from khabar.pickling import fast_pickle
from khabar.text.normalize import NormalizeOptions

ALGORITHM_VERSION = 2
"""Bumped whenever a change to the code changes sketches or pairs (stored results go stale)."""


@fast_pickle
@dataclass(frozen=True, slots=True)
class DupParams:
    """What counts as a duplicate and how candidates are found. Defaults suit news wires."""

    threshold: float = 0.8
    """Jaccard similarity of shingle sets at or above which two documents are near duplicates."""
    containment: float = 0.8
    """Share of the smaller document's shingles found in the other at or above which the pair
    is a duplicate too (a short wire story inside a longer article). 0 turns this off."""
    shingle: str = "word:5"
    """Shingles: `word:N` (N consecutive normalized tokens) or `char:N` (N characters of the
    normalized tokens joined by single spaces)."""
    num_perm: int = 128
    """Bins of the one-permutation MinHash sketch (its length)."""
    bands: int | None = None
    """LSH bands; None chooses bands and rows from `threshold` (see `lsh.choose_bands`)."""
    rows: int | None = None
    """LSH rows per band; give both `bands` and `rows` or neither; bands × rows ≤ num_perm."""
    min_tokens: int = 10
    """Documents with fewer normalized tokens are never duplicates; they are listed apart."""
    seed: int = 1
    """Seed of the sketch hashing (the shingle hashes themselves are fixed)."""
    sample_rate: float = 0.125
    """Share of shingles kept as containment samples (a consistent, hash-chosen subset)."""
    normalize: NormalizeOptions = field(default_factory=NormalizeOptions)
    """Normalization applied before tokenizing (the text layer's defaults)."""

    def __post_init__(self) -> None:
        from khabar.dups.shingles import parse_shingle

        if not 0.0 < self.threshold <= 1.0:
            raise KhabarError(f"threshold {self.threshold}: must be in (0, 1]")
        if not 0.0 <= self.containment <= 1.0:
            raise KhabarError(f"containment {self.containment}: must be in [0, 1] (0 = off)")
        parse_shingle(self.shingle)
        if not 1 <= self.num_perm <= 4096:
            raise KhabarError(f"num_perm {self.num_perm}: must be from 1 to 4096")
        if (self.bands is None) != (self.rows is None):
            raise KhabarError("give both bands and rows, or neither")
        if self.bands is not None and self.rows is not None:
            if self.bands < 1 or self.rows < 1:
                raise KhabarError("bands and rows must be at least 1")
            if self.bands * self.rows > self.num_perm:
                raise KhabarError(
                    f"bands × rows = {self.bands * self.rows} exceeds num_perm {self.num_perm}")
        if self.min_tokens < 1:
            raise KhabarError(f"min_tokens {self.min_tokens}: must be at least 1")
        if not 0.0 < self.sample_rate <= 1.0:
            raise KhabarError(f"sample_rate {self.sample_rate}: must be in (0, 1]")
        if not 0 <= self.seed < 2**63:
            raise KhabarError(f"seed {self.seed}: must be from 0 to 2^63 - 1")

    @property
    def shingle_kind(self) -> tuple[str, int]:
        from khabar.dups.shingles import parse_shingle

        return parse_shingle(self.shingle)

    def band_rows(self) -> tuple[int, int]:
        """(bands, rows): as given, or chosen from the threshold."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        from khabar.dups.lsh import choose_bands

        return choose_bands(self.threshold, self.num_perm)

    def sketch_key(self) -> str:
        """Identifies everything a stored sketch depends on."""
        kind, size = self.shingle_kind
        text = (f"v{ALGORITHM_VERSION}|{kind}:{size}|k{self.num_perm}|s{self.seed}|"
                f"r{self.sample_rate!r}|n{self.normalize.key()}")
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    def pairs_key(self) -> str:
        """Identifies everything the stored pairs depend on (the sketch key included)."""
        b, r = self.band_rows()
        text = (f"{self.sketch_key()}|t{self.threshold!r}|c{self.containment!r}|b{b}|r{r}|"
                f"m{self.min_tokens}")
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
