"""Statements much like an earlier one: a hint for moderators (selectors.moderation_queue).

Exact duplicates (the same words once case and punctuation are set aside) are refused
when they are written; what reaches the queue is "Supervisors should not time toilet
breaks (member)" beside "Supervisors should not time toilet breaks!!", which split the
votes on one idea between two cards. Compared here: the sets of content words of two
normalised texts (models.normalise_text), by the share they have in common (Jaccard).
Only a hint: the moderator decides, and "should" against "should not" still reads as
alike, which is what a moderator wants to look at.

No Django here: plain functions over strings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

# Words so common in statements that sharing them says nothing about the idea. "not",
# "no" and "never" are kept: they are part of what a statement says.
FILLER = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "we",
        "our",
        "us",
        "you",
        "your",
        "they",
        "their",
        "them",
        "i",
        "me",
        "my",
        "he",
        "she",
        "his",
        "her",
        "should",
        "must",
        "would",
        "could",
        "will",
        "can",
        "may",
        "might",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "so",
        "than",
        "then",
        "about",
        "into",
        "over",
        "all",
        "any",
        "some",
        "more",
        "most",
        "very",
        "just",
        "also",
    ]
)
# Alike when at least this share of the two statements' content words is common to both,
# and each has at least MIN_WORDS of them (two short slogans share too little to say).
ALIKE_SHARE = 0.6
MIN_WORDS = 3


def content_words(normalised: str) -> frozenset[str]:
    """The words that carry a normalised statement's idea: filler words left out, and a
    plural's final "s" (breaks, break) so that number does not count as a difference."""
    words = set()
    for word in normalised.split():
        if word in FILLER:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.add(word)
    return frozenset(words)


def share(first: frozenset[str], second: frozenset[str]) -> float:
    """The share of the two sets' words that both have (0 to 1)."""
    together = len(first | second)
    return len(first & second) / together if together else 0.0


def most_alike_earlier(statements: Iterable[tuple[int, str]]) -> dict[int, int]:
    """For each statement (number, normalised text), the earlier statement (a lower
    number) most alike it, where one is alike enough: {number: earlier number}.

    An index from each word to the statements using it keeps this to the statements
    that share a word, not every pair."""
    ordered = sorted(statements)
    words_of = {number: content_words(text) for number, text in ordered}
    by_word: dict[str, list[int]] = defaultdict(list)
    found: dict[int, int] = {}
    for number, _text in ordered:
        words = words_of[number]
        if len(words) >= MIN_WORDS:
            candidates = {other for word in words for other in by_word[word]}
            best, best_share = None, ALIKE_SHARE
            for other in sorted(candidates):
                other_words = words_of[other]
                if len(other_words) < MIN_WORDS:
                    continue  # too short to say
                alike = share(words, other_words)
                if alike >= best_share and (best is None or alike > best_share):
                    best, best_share = other, alike
            if best is not None:
                found[number] = best
        for word in words:
            by_word[word].append(number)
    return found
