"""Stories: group articles that report the same event, in batch or as a stream.

    import khabar
    result = khabar.cluster_stories(docs_or_store, khabar.StoryParams(threshold=0.5))
    for story in result.stories:
        print(story.story, story.title, story.members)

    stream = khabar.StoryStream(khabar.StoryParams())
    for assignment in stream.add(docs):      # any batch size, in arrival order
        print(assignment.id, assignment.story, assignment.score)

The pair score is a small logistic model over lead and title words, copied
text, numbers, ordinals/weekdays and time (`similarity`); batch clustering is
average linkage over it (`batch`, `linkage`), with the duplicate stage's copies
as must-links (`copies`); streaming assigns each article to the best active
story (`stream`); an English or French report joins the Arabic story it tells
on transliterated names and figures (`crosslingual`); stories of one developing
event are linked into threads, each link with its evidence (`threads`); story
and thread ids are kept stable in the database (`db`).
"""

from khabar.stories.api import cluster_stories, evidence_from, evidence_from_store
from khabar.stories.copies import Copies
from khabar.stories.db import load_result, load_threads
from khabar.stories.features import FeatureParams
from khabar.stories.params import StoryParams
from khabar.stories.result import Story, StoryResult
from khabar.stories.similarity import DEFAULT_MODEL, FEATURES, PairParams, SimilarityModel
from khabar.stories.stream import Assignment, StoryStream
from khabar.stories.threads import (
    DEFAULT_THREAD_MODEL,
    THREAD_FEATURES,
    Thread,
    ThreadLink,
    ThreadModel,
    ThreadParams,
    ThreadResult,
)

__all__ = ["DEFAULT_MODEL", "DEFAULT_THREAD_MODEL", "FEATURES", "THREAD_FEATURES", "Assignment",
           "Copies", "FeatureParams", "PairParams", "SimilarityModel", "Story", "StoryParams",
           "StoryResult", "StoryStream", "Thread", "ThreadLink", "ThreadModel", "ThreadParams",
           "ThreadResult", "cluster_stories", "evidence_from", "evidence_from_store", "load_result",
           "load_threads"]
