"""What a statement must hold before people vote on it: words they can see.

Pasted or typed text can hold characters that show nothing: zero-width spaces and other
format characters (Unicode category Cf), control characters, and "fillers" that are
letters or symbols to Unicode but draw as blank space (the Hangul fillers U+115F, U+1160,
U+3164 and U+FFA0, the blank Braille pattern U+2800). Thirty zero-width spaces were
published as a blank card people voted on. So they are taken out (`visible_text`) before
a statement is checked, and a statement needs a few letters or digits
(`word_characters`): ten emoji say nothing the next person can agree or disagree with,
and their normalised text is empty, which made every later emoji-only statement look
like a duplicate of the first.

Django-free: text in, text out. The messages are the callers' (services, forms).
"""

from __future__ import annotations

import re
import unicodedata

# At least this many letters or digits, in any script: "不公平" ("unfair") is enough.
MIN_WORD_CHARACTERS = 3

# Letters or symbols to Unicode, blank on screen: read as spaces.
FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Format characters that real writing needs, so kept: the zero-width non-joiner and
# joiner (Persian and Indic spelling, emoji sequences such as 👩‍💻), between two
# characters only, and the direction marks (U+200E, U+200F, U+061C) that keep numbers
# and brackets in place in right-to-left text. The direction embeddings, overrides and
# isolates (core.text.DIRECTION_CONTROLS) are format characters too, and go.
_JOINERS = "\u200c\u200d"
_KEPT_FORMAT = frozenset(_JOINERS) | frozenset("\u200e\u200f\u061c")
# A joiner with a space or the text's edge on either side joins nothing.
_LOOSE_JOINERS = re.compile(rf"(?<![^\s{_JOINERS}])[{_JOINERS}]+|[{_JOINERS}]+(?![^\s{_JOINERS}])")


def _shown(ch: str) -> str:
    if ch in FILLERS:
        return " "
    category = unicodedata.category(ch)
    if category == "Cf" and ch not in _KEPT_FORMAT:
        return ""
    if category == "Cc" and not ch.isspace():
        return ""
    return ch


def visible_text(text: str) -> str:
    """`text` without the characters that show nothing, and single-spaced (every kind
    of Unicode space, new lines included, becomes one space)."""
    if text.isascii() and text.isprintable():
        return " ".join(text.split())
    shown = _LOOSE_JOINERS.sub("", "".join(map(_shown, text)))
    return " ".join(shown.split())


def word_characters(text: str) -> int:
    """How many letters and digits `text` holds, in any script (fillers aside)."""
    return sum(1 for ch in text if unicodedata.category(ch)[0] in "LN" and ch not in FILLERS)


def has_words(text: str) -> bool:
    """Whether `text` (already through visible_text) can be voted on."""
    return word_characters(text) >= MIN_WORD_CHARACTERS
