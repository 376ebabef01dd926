"""An English or French report joins the Arabic story it tells (issue 14, stretch).

Examples written for khabar: reports in English and French of the made-up events of the
story tests (test_stories_corpus), with the names transliterated and the figures kept.
"""

from __future__ import annotations

from dataclasses import replace

from test_stories_corpus import all_docs, at

from khabar.document import Document
from khabar.stories import cluster_stories
from khabar.stories.crosslingual import arabic_skeleton, latin_names, latin_skeleton

FR_STRIKE_A = Document(
    "fr-a", "Sept personnes ont été tuées et 12 blessées lundi matin dans une frappe aérienne "
    "sur le marché populaire d'al-Rayhaniya, dans la province de la Plaine du Nord, selon la "
    "direction de la santé. Le directeur de l'hôpital public, le docteur Samer al-Khatib, a "
    "indiqué que trois blessés étaient dans un état critique. Le gouverneur Majed al-Ali a "
    "réclamé une enquête.", "Frappe meurtrière sur le marché d'al-Rayhaniya", "Le Courrier",
    at(5, 14))
EN_FIRE = Document(
    "en-c", "Civil defence crews brought the huge fire at the plastics factory in the "
    "industrial zone of al-Mina under control on Sunday morning after 14 hours, spokesman "
    "Colonel Nabil Haddad said. He said 18 fire crews had kept the flames from the nearby "
    "warehouses and that two workers suffered smoke inhalation.",
    "Al-Mina factory fire under control after 14 hours", "The Plain Herald", at(11, 10))
EN_UNRELATED = Document(
    "en-x", "The Plain Herald opens a new office in the capital this week, its editor said, "
    "with 45 journalists.", "Herald opens new office", "The Plain Herald", at(6, 9))


def test_skeletons_meet_across_scripts():
    for latin, arabic in (("Rayhaniya", "الريحانية"), ("al-Sarraj", "السراج"),
                          ("Khatib", "الخطيب"), ("Manara", "المنارة"), ("Anbar", "العنبر"),
                          ("Nabil", "نبيل"), ("Wahat", "واحة")):
        assert latin_skeleton(latin.split("-")[-1]) == arabic_skeleton(arabic), (latin, arabic)
    runs = latin_names("Transport Minister Nabil al-Sarraj visited Tal al-Rayhan on Monday.")
    assert ["nbl", "srj"] in runs and ["tl", "rhn"] in runs
    assert not any("mnd" in r for r in runs)  # a weekday is not a name


def test_foreign_reports_join_the_story_they_tell():
    docs = [*all_docs(), FR_STRIKE_A, EN_FIRE, EN_UNRELATED]
    for mode in ("batch", "stream"):
        result = cluster_stories(docs, mode=mode)
        story = {d.id: result.assignment[d.id][0] for d in docs}
        assert story["fr-a"] == story["a1"]  # French: al-Rayhaniya, al-Khatib, 12
        assert story["en-c"] == story["c3"]  # English: Nabil Haddad, al-Mina, 14, 18
        assert story["fr-a"] != story["b1"]  # the governor alone does not make it strike B
        assert result.story_of("en-x").members == ["en-x"]  # no name, no figure in common


def test_names_without_figures_are_not_enough():
    """The French report without its figures: names alone are a topic, not an event."""
    bare = replace(FR_STRIKE_A, id="fr-bare", text=FR_STRIKE_A.text.replace("12", "douze"))
    result = cluster_stories([*all_docs(), bare])
    assert result.story_of("fr-bare").members == ["fr-bare"]
