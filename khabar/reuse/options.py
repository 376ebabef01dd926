"""Parameters of reuse detection, chosen from what counts as reuse in news, not from a corpus.

Lengths are counted in *content tokens* (tokens that are not stopwords) where
the algorithm works on them, because Arabic function words (و، في، من، أن…)
are attached or dropped freely by editors and carry no evidence of copying.
About six in ten tokens of Arabic news are content tokens, so a core of
`core_words = 8` words is about five content tokens.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReuseOptions:
    """What reuse detection looks for. Every field has a reason; none was fitted to a corpus."""

    min_words: int = 15
    """Shortest reused passage reported, in words (all tokens) on each side: about one
    short sentence. A shorter shared string is a name, a title, a stock phrase or a verse
    quoted by both, which neither a news editor (copying means "at least one shared
    sentence") nor a plagiarism judge calls copying."""

    core_words: int = 8
    """Shortest ordered core that anchors a passage, in words: about one clause. A passage
    grows from such a core (and its neighbours) to its full extent, so the core may be
    shorter than the passage reported: an edited sentence keeps a clause or two intact."""

    min_content: int = 5
    """Fewest matched content tokens on each side of a passage (about `core_words` words of
    running text; also the anchor size the detector looks for)."""

    ngram: int = 3
    """Length of the ordered fingerprints (consecutive content stems). Three: a passage of
    `core_words` words holds about five content tokens, hence three trigrams, so one edited
    word still leaves a trigram standing, while two-word stems pairs are shared by chance."""

    max_df: int = 50
    """Fingerprints (and, for the bag index, stems) found in more documents than this are
    ignored when looking for candidate pairs: a string carried by that many articles is a
    formula or boilerplate, and its pairs would grow with the square of its frequency."""

    bag_window: int = 64
    """Content tokens per window of the bag index (windows overlap by half). About one
    paragraph: reordered or shuffled reuse keeps its words within a paragraph-sized span."""

    bag_min: int = 6
    """Distinct rare stems two windows must share to make a candidate pair through the bag
    index (word order ignored). A little more than `min_content`: without order, a bag
    needs a few more words before sharing it is unlikely by chance."""

    bag_levels: int = 2
    """Window scales of the bag index: `bag_window`, 4 x `bag_window`, … each needing
    proportionally more shared stems (long reordered passages dilute small windows).
    0 turns the bag index off: only ordered reuse is found."""

    max_gap: int = 8
    """Largest run of unmatched content tokens bridged inside one passage (about one short
    inserted sentence or clause): nearby matches separated by less are one passage."""

    min_coverage: float = 0.5
    """Share of the content tokens of each side of a passage whose stem occurs on the other
    side. Half: an editor may rewrite up to every other word and it is still their copy."""

    max_substituted: int = 2
    """Words replaced in place count as matched: between two consecutive words of a
    passage's ordered chain, up to this many unmatched words on each side, the same number
    on both (a synonym for a word, a spelling for another, a figure written out). Two
    words: an editor's substitutions come one or two at a time; 0 turns this off."""

    extend_similarity: float = 0.4
    """A passage takes in the sentence next to it (or the one after) on both sides when
    their content stems overlap at least this much (Dice): a paraphrase keeps each
    sentence's words, reordered and partly replaced, sentence by sentence. Two fifths: a
    sentence reworded word for word keeps about half its stems, while two articles on one
    event also share a quarter or a third of a sentence's stems (its names and places)
    without one rewording the other. 0 turns this off."""

    bag_coverage: float = 0.8
    """The same share for a passage whose words were reordered (no ordered core): with no
    order left, its words are its only evidence, and a reordered copy keeps nearly all."""

    boilerplate_min_docs: int = 5
    """A passage is an outlet's boilerplate when its text recurs in at least this many
    documents of that outlet (signatures, disclaimers, standing paragraphs)."""

    include_boilerplate: bool = False
    """Report boilerplate passages too (flagged `boilerplate: true`)."""

    window_days: float = 30.0
    """Articles are compared only with articles published within this many days of them
    (undated ones with every article): a month covers a wire story's republications and
    follow-ups, and keeps the cost of a run proportional to the collection, not to its
    square. Document frequencies are counted within windows of this length too."""

    formula_outlets: int = 3
    """An n-gram carried by at least this many outlets…"""

    formula_days: int = 5
    """…on at least this many different days is a formula (titles, honorifics, standard
    openings and closings): a story's copies all appear within two or three days of the
    event (crawl dates and republications included), a formula keeps recurring. An n-gram
    in more than `max_df` documents is a formula too, dated or not."""

    template_span: int = 25
    """A passage whose numbers differ is a template (the same frame filled with other
    figures: a market report, a forecast, a toll) when at least one number differs per this
    many content words, about one sentence: a long copy with one changed figure is still a
    copy, a sentence whose figures all changed is not."""

    include_formulaic: bool = False
    """Report template and formula passages too (flagged by `kind`). They are shared text,
    never evidence that one article copied another."""

    max_dots_per_stem: int = 64
    """A word occurring m times in one article and n in the other yields m*n matches; beyond
    this product it is too common in the pair to locate anything and is not used as a seed
    (it still counts for coverage)."""
