"""Spotting personal details in a statement: an email address, a phone number, a UK
postcode, a social media @handle. Moderation shows these as hints beside the duplicate
and spam hints, so that an organiser can reject a statement that would name or reach
someone before (pre-moderation) or soon after (post-moderation) everyone sees it.

Django-free and plain: text in, kinds out. A hint only asks an organiser to look, so a
rare miss is acceptable, but ordinary figures in statements ("24/7", "£5.50", dates,
times, years, "9am to 5pm") must not be flagged, or the hints stop being read.
"""

from __future__ import annotations

import re

EMAIL = "email"
PHONE = "phone"
POSTCODE = "postcode"
HANDLE = "handle"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
# Starts with a letter after @, not part of an email address (no word character or dot
# before the @): "@jo_bloggs", not "jo@example.org" nor "meet @ 5".
_HANDLE = re.compile(r"(?<![\w.@])@[A-Za-z][A-Za-z0-9_]{1,29}\b")
# A run of digits with the separators phone numbers are written with (spaces, dashes,
# dots, brackets), optionally after "+". Slashes, commas, colons and currency signs end
# a run, which keeps "24/7", "1,000", "9:30" and "£5.50" out.
_DIGIT_RUN = re.compile(r"(?<![\w+£$€.,/:])\+?\(?\d[\d ().-]*\d(?![\w/:%])")
# UK postcodes as people write them, in capitals: "LS1 4AP", "SW1A 1AA", "M1 1AE".
# Capitals only: lower case "a4 5th" is prose far more often than a postcode.
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}\b")
_YEAR = re.compile(r"(?:19|20)\d\d")
# A date or a clock time written with the separators a phone number can have too, so a
# run holds it: "05.01.2024", "2024-01-05", "05-01-24", "09.00", "9:30:15", "09.00-17.30".
# Each part must be a possible day, month, hour or minute: "01.23.45.67.89" (a French
# number) is not a date. Day and month may come in either order.
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_DATE = rf"(?:{_DAY}[./-]{_DAY}[./-](?:19|20)?\d\d|(?:19|20)\d\d[./-]{_MONTH}[./-]{_DAY})"
_TIME = r"(?:[01]?\d|2[0-3])[.:][0-5]\d(?:[.:][0-5]\d)?"
_DATE_OR_TIME = re.compile(rf"{_DATE}(?:-{_DATE})?|{_TIME}(?:-{_TIME})?")


def _looks_like_phone(run: str) -> bool:
    digits = re.sub(r"\D", "", run)
    if run.startswith(("+", "0", "(")):
        # "+44 7700 900123", "07700 900123", "(0113) 496 0000": 9 to 15 digits.
        return 9 <= len(digits) <= 15
    groups = re.split(r"[ ().-]+", run.strip("()"))
    if all(_YEAR.fullmatch(g) for g in groups):
        return False  # "2023 2024 2025": years, not a number to call
    # Without a leading 0 or +: 10 or 11 digits, as North American and many other
    # numbers have ("555-123-4567"). Shorter runs are amounts, dates and times.
    return 10 <= len(digits) <= 11


def _holds_phone(run: str) -> bool:
    """A date or time in a run splits it: "05.01.2024 09.00" would otherwise read as 12
    digits starting with 0, a phone number. What stands either side is judged alone, so
    "07700 900123 09.00" still holds a phone number."""
    parts: list[list[str]] = [[]]
    for chunk in run.split():
        if _DATE_OR_TIME.fullmatch(chunk.strip("()")):
            parts.append([])
        else:
            parts[-1].append(chunk)
    return any(part and _looks_like_phone(" ".join(part)) for part in parts)


def personal_details(text: str) -> tuple[str, ...]:
    """The kinds of personal detail the text seems to hold, in a fixed order (EMAIL,
    PHONE, POSTCODE, HANDLE), each at most once; empty when none."""
    found = []
    if _EMAIL.search(text):
        found.append(EMAIL)
    without_emails = _EMAIL.sub(" ", text)
    if any(_holds_phone(m.group()) for m in _DIGIT_RUN.finditer(without_emails)):
        found.append(PHONE)
    if _POSTCODE.search(without_emails):
        found.append(POSTCODE)
    if _HANDLE.search(without_emails):
        found.append(HANDLE)
    return tuple(found)
