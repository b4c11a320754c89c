"""Plain-text rules shared by the apps that keep what people type (statements in
deliberation, answers in surveys). Django-free: text in, text out."""

from __future__ import annotations

import unicodedata

# Unicode's direction embeddings, overrides and isolates (U+202A to U+202E, U+2066 to
# U+2069): invisible, they make text show in another order than it is written, so a
# statement or an answer could read one way where it was typed and another where it
# is shown (an override left open flips the words after it too: "egnahC" for the
# "Change" link beside an answer). Taken out rather than refused: the writer cannot
# see them (they come with pasted text) and could not find what to remove; the letters
# they see stay as they are.
DIRECTION_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
_WITHOUT_DIRECTION_CONTROLS = dict.fromkeys(map(ord, DIRECTION_CONTROLS))


def without_direction_controls(text: str) -> str:
    return text.translate(_WITHOUT_DIRECTION_CONTROLS)


# The null character: no text column of PostgreSQL can hold it ("\u0000 cannot be
# converted to text"), in a JSON column either, and no person types it on purpose.
NUL = "\x00"


def has_nul(text: str) -> bool:
    return NUL in text


def ascii_forms(text: str) -> str:
    """`text` with full-width letters, digits and signs written in their ASCII forms
    and the digits of other scripts as 0 to 9: 2024-03-01 in full-width digits and
    hyphens, typed with a Japanese or Chinese keyboard, reads "2024-03-01"; so do
    Arabic-Indic and Devanagari digits. Not NFKC: that would also read a superscript
    ("10²") as a digit ("102")."""
    if text.isascii():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:  # the full-width forms of "!" to "~"
            out.append(chr(code - 0xFEE0))
        elif code == 0x3000:  # the ideographic (full-width) space
            out.append(" ")
        elif (digit := unicodedata.decimal(ch, None)) is not None:
            out.append(str(digit))
        else:
            out.append(ch)
    return "".join(out)
