"""Text as it is stored, indexed, embedded and searched: normalised once, the same way.

:func:`normalize` runs on chunk text before it is stored and on every query, so a
ligature (``ﬁnd``), a full-width form or a soft hyphen never keeps a word from being
found. :func:`query_terms` turns a natural-language question into the terms that
drive ranking.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SOFT_HYPHEN = "\u00ad"
# "configu-\nration": a hyphen at a line end between two lower-case letters is hyphenation.
_LINE_END_HYPHEN = re.compile(r"(?<=[a-zà-ÿ])-\n(?=[a-zà-ÿ])")
_WORD = re.compile(r"\w+", re.UNICODE)

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)


def normalize(text: str) -> str:
    """NFKC (ligatures, full-width forms), soft hyphens dropped, line-end hyphenation joined."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).replace(_SOFT_HYPHEN, "")
    return _LINE_END_HYPHEN.sub("", text) if "-\n" in text else text


def displayable(text: str) -> str:
    """Text safe to store and show: lone surrogates (an undecodable file name) become U+FFFD.

    File names that are not UTF-8 reach Python as surrogate escapes; the exact name stays
    in the source URI (percent-encoded bytes), this is how it is shown and stored.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def text_hash(text: str) -> str:
    """The identity of a chunk's text, for caching its embedding."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def words(text: str) -> list[str]:
    """The lower-case words of normalised text, in order."""
    return [word.lower() for word in _WORD.findall(normalize(text))]


def query_terms(query: str) -> tuple[list[str], list[str]]:
    """``(content terms, all terms)`` of a query, lower-case, in order.

    Content terms leave out stopwords; a query made only of stopwords keeps them all.
    """
    every = words(query)
    content = [word for word in every if word not in STOPWORDS]
    return (content or every), every
