"""Stems: one word's forms with and without the article and its particles meet."""

from __future__ import annotations

from khabar.text.stem import article_stem, stem


def test_article_and_particles_off_before_snowball() -> None:
    # Snowball alone keeps وال on some lengths and strips a letter more on others
    groups = [["الصدر", "والصدر", "صدر"], ["البطن", "والبطن", "بطن"],
              ["الخلايا", "بالخلايا", "خلايا"], ["الوزارة", "والوزارة", "بالوزارة", "للوزارة"],
              ["الحكومة", "والحكومة", "حكومة"]]
    for forms in groups:
        assert len(set(article_stem(forms))) == 1, forms
    assert len(set(stem(["الصدر", "والصدر"]))) == 2  # what the article step is for


def test_short_words_and_other_scripts_stay_whole() -> None:
    # a prefix goes only when three letters remain: الله, الان are words, not article + stem
    assert article_stem(["الله", "الان"]) == stem(["الله", "الان"])
    assert article_stem(["reporting", "2015"]) == stem(["reporting", "2015"])
    assert article_stem(["reporting"], language="english") == ["report"]


def test_reuse_matches_on_article_stems_and_counts_rarity_on_snowball() -> None:
    from khabar.document import Document
    from khabar.reuse.features import extract_features

    a, b = extract_features([Document(id="a", text="والصدر والبطن والحكومة الخلايا"),
                             Document(id="b", text="الصدر البطن حكومة خلايا")])
    assert a.stems.tolist() == b.stems.tolist()
    # rarity and the bag index keep Snowball's stems: merged forms are more frequent, and
    # the document-frequency cap would drop them
    assert a.index_stems.tolist() != b.index_stems.tolist()
