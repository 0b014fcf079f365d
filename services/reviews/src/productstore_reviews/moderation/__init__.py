"""Offline moderation and sentiment of reviews: nothing is downloaded at run time.

`Moderator.classify(title, body, rating)` gives a `Verdict`: the language (ru, en or
other), a sentiment score in [-1, 1] and a decision (publish, queue, reject) with the
reasons. English sentiment is VADER's lexicon (in the vaderSentiment wheel), Russian
ours (`lexicons/ru_sentiment.tsv`, lemmas from pymorphy3's dictionary wheel), the
language from py3langid's model (in its wheel). Profanity and spam are rules
(`rules.py`). docs/adr/0020 says why.
"""

from productstore_reviews.moderation.classifier import Decision, Moderator, Verdict

__all__ = ["Decision", "Moderator", "Verdict"]
