"""Explanations of a story: what each article adds, what the story says, who says it.

* `novelty` — each sentence of each article is new or repeated (with where it was seen first);
* `summarize` — a short extractive summary, each sentence traced to the outlets carrying it;
* `attributions` — quotations, reported speech and agency credits, with speakers;
* `mentions` — people, places, organizations and agencies named (gazetteers and rules);
* `story_sources` — who is quoted or credited in a story, and how often;
* `explain_story` — all of the above for one story; the stage (`khabar.explain.stage`) runs them
  over a collection.
"""

from khabar.explain.attribution import Attribution, Source, attributions, story_sources
from khabar.explain.entities import Mention, mentions
from khabar.explain.novelty import NoveltyParams, SentenceNovelty, novelty
from khabar.explain.story import ExplainParams, StoryExplanation, explain_batch, explain_story
from khabar.explain.summary import SummaryParams, SummarySentence, summarize

__all__ = [
    "Attribution", "ExplainParams", "Mention", "NoveltyParams", "SentenceNovelty", "Source",
    "StoryExplanation", "SummaryParams", "SummarySentence", "attributions", "explain_batch",
    "explain_story", "mentions", "novelty", "story_sources", "summarize",
]
