"""Explanations of a story: what each article adds, what the story says, who says it.

* `novelty` — each sentence of each article is new or repeated (with where it was seen first);
* `summarize` — a short extractive summary, each sentence traced to the outlets carrying it;
* `attributions` — quotations, reported speech and agency credits, with speakers;
* `mentions` — people, places, organizations and agencies named (gazetteers and rules);
* `story_sources` — who is quoted or credited in a story, and how often.
"""

from khabar.explain.attribution import Attribution, Source, attributions, story_sources
from khabar.explain.entities import Mention, mentions

__all__ = ["Attribution", "Mention", "Source", "attributions", "mentions", "story_sources"]
