"""Search text: the words of a query, rapidfuzz scoring of a candidate (SQLite re-ranking), and the
highlighted match (each piece escaped, the matching words wrapped in <mark>)."""
import functools
import re
import unicodedata

from markupsafe import Markup, escape
from rapidfuzz import fuzz

WORD = re.compile(r"\w+")
MAX_QUERY_LENGTH = 200
MAX_WORDS = 8
MIN_WORD = 2
MATCH_THRESHOLD = 75  # a query word matches a text word at this rapidfuzz ratio (0–100) or above


def unaccent(text):
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalize(text):
    return unaccent(text or "").lower()


def query_words(query):
    """The distinct words of a query worth searching for (two characters or more), in order, at most 8."""
    words = []
    for word in WORD.findall(normalize(query)):
        if len(word) >= MIN_WORD and word not in words:
            words.append(word)
    return words[:MAX_WORDS]


def trigrams(words):
    """The trigrams of the words of three characters or more (SQLite FTS5's trigram tokenizer matches those)."""
    found = []
    for word in words:
        for i in range(len(word) - 2):
            if word[i:i + 3] not in found:
                found.append(word[i:i + 3])
    return found


@functools.lru_cache(maxsize=4096)  # titles repeat their words: the list and the page ask again and again
def word_match(query_word, text_word):
    """0–100: how well a text word answers a query word (a word it begins counts almost as the word)."""
    if query_word == text_word:
        return 100.0
    if len(query_word) >= 3 and text_word.startswith(query_word):
        return 95.0
    return fuzz.ratio(query_word, text_word)


def score(words, title, other="", code=None, query=""):
    """The relevance of a candidate, or None when one query word matches nothing in it (every word must be
    found, in any order). Words of the title count fully, those of the other text a little less; an exact
    code comes first."""
    if code and query and normalize(query.strip()) == normalize(code):
        return 1000.0
    title_words = WORD.findall(normalize(title))
    other_words = WORD.findall(normalize(" ".join(part for part in (code, other) if part)))
    total, all_in_title = 0.0, True
    for word in words:
        in_title = max((word_match(word, w) for w in title_words), default=0.0)
        elsewhere = 0.85 * max((word_match(word, w) for w in other_words), default=0.0)
        best = max(in_title, elsewhere)
        if best < MATCH_THRESHOLD * (0.85 if elsewhere > in_title else 1):
            return None
        all_in_title = all_in_title and in_title >= MATCH_THRESHOLD
        total += best
    return total / len(words) + (5.0 if all_in_title else 0.0)


def highlight(text, words):
    """`text` escaped, with the words that match a query word marked: markup is only ever added around
    escaped pieces of the original text, never parsed out of it."""
    text = text or ""
    if not words:
        return escape(text)
    pieces, last = [], 0
    for found in WORD.finditer(text):
        candidate = normalize(found.group())
        if any(word_match(word, candidate) >= MATCH_THRESHOLD for word in words):
            pieces.append(escape(text[last:found.start()]))
            pieces.append(Markup("<mark>%s</mark>") % found.group())
            last = found.end()
    pieces.append(escape(text[last:]))
    return Markup("").join(pieces)
