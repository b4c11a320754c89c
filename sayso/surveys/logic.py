"""Reading, checking and validating answers page by page, with the ODK XPath evaluator.

Answers are kept as plain JSON values while a response is in progress: a choice name,
a list of choice names (multiple choice; ranking in order), a number, an ISO date, a
text, or "yes" for a consent statement.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.formats import date_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from sayso.analysis import odk_xpath
from sayso.core.text import ascii_forms, has_nul, without_direction_controls

from .models import Question, Survey, own_or_main, pick_label

# What a respondent reads when an answer breaks a question's rule (constraint) that has
# no message of its own (an imported XLSForm's, or one left blank in the builder, whose
# help text quotes it).
RULE_NOT_FOLLOWED = gettext_lazy("This answer is not accepted. Check it and try again.")

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# A BCP 47 language tag as surveys use them: a two- or three-letter language, then
# optionally a script ("Latn"), a region ("br", "419") and variants.
BCP47_RE = re.compile(
    r"^[a-z]{2,3}(-[a-z]{4})?(-(?:[a-z]{2}|[0-9]{3}))?(-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*$",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=256)
def html_lang(code: str) -> str:
    """The BCP 47 tag for a survey's language, for an HTML lang attribute, or "" when
    none can be told (lang="" says "language unknown", which is true; leaving the
    attribute out would claim the page's own language, English).

    Surveys keep codes ("pl", "pt-br"), but an XLSForm whose columns say "label::Welsh"
    without "(cy)" gives the name: a name Django knows becomes its code."""
    value = (code or "").strip().replace("_", "-")
    if BCP47_RE.match(value):
        return value
    from django.conf.locale import LANG_INFO

    wanted = value.lower()
    for tag, info in LANG_INFO.items():
        names = {str(info.get("name", "")).lower(), str(info.get("name_local", "")).lower()}
        if "code" in info and wanted in names:
            return tag
    return ""


def ui_lang() -> str:
    """The language Sayso's own words are shown in: the page's <html lang>."""
    return translation.get_language() or settings.LANGUAGE_CODE


class Shown(str):
    """A survey text as shown to a respondent, with the language it is really in: the
    chosen one, or the survey's main language where a translation is missing. A str,
    so that it prints and compares as its text."""

    __slots__ = ("lang",)
    lang: str  # a BCP 47 tag, or "" when unknown

    def __new__(cls, text: str, lang: str) -> Shown:
        made = super().__new__(cls, text)
        made.lang = lang
        return made

    @property
    def text(self) -> str:
        return str(self)

    @property
    def lang_attr(self) -> SafeString:
        """` lang="…"` for the element holding the text; nothing when the text is in
        the page's own language, which it then inherits truthfully."""
        if self.lang == ui_lang():
            return mark_safe("")
        return format_html(' lang="{}"', self.lang)

    @property
    def html(self) -> SafeString:
        """The text, escaped, in a span that gives its language when it differs from
        the page's (for a text inside a sentence or a label of Sayso's)."""
        if self.lang == ui_lang():
            return conditional_escape(str(self))
        return format_html('<span lang="{}">{}</span>', self.lang, str(self))


def shown(labels: Any, language: str, default_language: str, fallback: str = "") -> Shown:
    """The text of `labels` ({language: text}) in `language`, else in the survey's main
    language, else the first one given, else `fallback` (a question's short name,
    in no known language)."""
    if isinstance(labels, dict):
        for code in (language, default_language, *labels):
            text = labels.get(code)
            if text:
                return Shown(str(text), html_lang(code))
    return Shown(fallback, "")


def shown_own_or_main(labels: Any, language: str, main: str) -> Shown:
    """A page title or a hint as a respondent reads it: in `language`, else in the
    survey's main language, else nothing. Unlike a question's label (shown), never in
    a third language: such a text translates one left empty in the main language, so
    it does not stand in for it (models.own_or_main)."""
    return shown(own_or_main(labels, language, main), language, main)


def answer_shown(question: Question, value: Any, language: str) -> Shown:
    """An answer that is not a choice, as the check page shows it: a consent statement
    as "Agreed" or "Did not agree", a date in words ("2 March 2019", in the page's
    language), a text in the language it was written in, and a number as given.
    Only how it is shown: the answer is kept as it was given ("yes", "2019-03-02")."""
    if question.type == Question.Type.CONSENT:
        return Shown(_("Agreed") if value else _("Did not agree"), ui_lang())
    if question.is_text:
        return Shown(str(value), html_lang(language))
    if question.type == Question.Type.DATE and isinstance(value, str):
        try:
            # E: the month as a date says it ("2 marca 2019" in Polish, not "Marzec").
            return Shown(date_format(dt.date.fromisoformat(value), "j E Y"), ui_lang())
        except ValueError:
            pass  # not a date after all: shown as it is, and the check says why
    if question.type == Question.Type.NUMBER and isinstance(value, float):
        return Shown(number_text(value), ui_lang())
    return Shown(str(value), ui_lang())


def number_text(value: Any) -> Any:
    """A number answer written out as people write it, to show it or fill it in again:
    0.00001, never Python's 1e-05 (which the page would refuse when sent back), with a
    decimal comma in the languages that write one. Anything else as it is."""
    if isinstance(value, float):
        written = format(Decimal(repr(value)), "f")
        if (translation.get_language() or "")[:2] in _DECIMAL_COMMA_LANGUAGES:
            return written.replace(".", ",")  # as read_answer reads it back: 3,5
        return written
    return value


def survey_text(survey: Survey, field: str, language: str) -> Shown:
    """The survey's `field` ("title", "welcome", "privacy_notice") as Survey.text_in
    picks it, with the language it is in."""
    text = survey.text_in(field, language)
    translated = ((survey.texts or {}).get(language) or {}).get(field)
    if language != survey.default_language and translated and text == str(translated):
        return Shown(text, html_lang(language))
    return Shown(text, html_lang(survey.default_language))


def message_shown(question: Question, message: str, language: str, default_language: str) -> Shown:
    """A message about an answer: the survey's own words (a required or constraint
    message, in `language` or the main language: missing_message, check_answer) in the
    language they were written in, or Sayso's, in the page's language."""
    for labels in (question.required_message, question.constraint_message):
        if isinstance(labels, dict):
            for code in (language, default_language):
                if message and labels.get(code) == message:
                    return Shown(message, html_lang(code))
    return Shown(message, ui_lang())


# A language tag as surveys keep it (lower case): a language, then optionally a script
# ("zh-hant", "sr-latn") and a region ("pt-br", "es-419"). Variants and extensions are
# left out: no survey needs them, and "en-english" would pass as a variant.
# Respondent UI languages whose numbers take a decimal comma (views.RESPONDENT_UI_LANGUAGES).
_DECIMAL_COMMA_LANGUAGES = frozenset({"pl"})
_THOUSANDS_RE = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")
# A number as people write it out: digits, perhaps a sign and a decimal point ("12",
# "-3.5", ".5"); and the same followed by an exponent ("1e9", "1.5E-3"), which is refused
# with its own message: a respondent who types it (or whose phone pastes it) is told to
# write the number out, rather than having 1000000000 kept from a typing slip.
_PLAIN_NUMBER_RE = re.compile(r"[+-]?(?P<whole>\d*)(?:\.(?P<fraction>\d*))?")
_EXPONENT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+")
# The digits a typed number may have, leading zeros and zeros after the last decimal
# left out (0042.50 has 3). A number of 15 digits or fewer is kept exactly as typed
# (stored as a double, which holds any 15 significant digits, as SPSS and spreadsheets
# read them too), so at most 999,999,999,999,999 and at most 15 decimals: larger ones,
# like 99999999999999999999999, would come back as 99999999999999991611392.
MAX_NUMBER_DIGITS = 15
_LANGUAGE_TAG_RE = re.compile(r"^([a-z]{2,3})(?:-[a-z]{4})?(?:-(?:[a-z]{2}|[0-9]{3}))?$")
# ISO 639-1, the two-letter codes. Every two-letter language subtag of BCP 47 is one of
# these; Django's own list (LANG_INFO) lacks many that communities here speak (so, ti,
# am, ps, gu, yo...). Three-letter codes (ISO 639-2/3, like fil or yue) are accepted as
# they come: no language name people would type is three letters long and not a code.
ISO_639_1 = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs"  # noqa: SIM905 (184 quoted codes would read worse)
    " cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha"
    " he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn"
    " ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb"
    " nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd"
    " se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw"
    " ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu".split()
)


def is_language_code(code: str) -> bool:
    """Whether `code` (lower case) is a language tag like en, cy, pt-br or zh-hant; a
    language's name ("english", "welsh") is not."""
    match = _LANGUAGE_TAG_RE.match(code)
    return match is not None and (len(match.group(1)) == 3 or match.group(1) in ISO_639_1)


def check_expression(
    expression: str, *, known: Iterable[str], allow_current: bool, what: str
) -> str | None:
    """Why `expression` cannot be used, or None. `known` are the names it may refer to."""
    if not expression.strip():
        return None
    try:
        parsed = odk_xpath.parse(expression)
    except odk_xpath.XPathSyntaxError as error:
        if not error.example:
            return _("%(what)s: %(reason)s.") % {"what": what, "reason": error.reason}
        # The example in this field's own terms: "." where the rule is about this
        # answer, an earlier question where it cannot be.
        return _("%(what)s: %(reason)s. For example: %(example)s") % {
            "what": what,
            "reason": error.reason,
            "example": error.example_with("." if allow_current else "${age}"),
        }
    except odk_xpath.XPathError as error:
        return _("%(what)s: %(reason)s.") % {"what": what, "reason": error}
    unknown = sorted(parsed.references - set(known))
    if unknown:
        return _("%(what)s refers to %(names)s, which is not an earlier question.") % {
            "what": what,
            "names": ", ".join(f"${{{n}}}" for n in unknown),
        }
    if parsed.uses_current and not allow_current:
        return _("%(what)s cannot use '.', which means this question's own answer.") % {
            "what": what
        }
    return None


def check_choice_texts(
    expression: str, *, choices: Mapping[str, Sequence[str]], what: str
) -> str | None:
    """Why a comparison in a valid `expression` names an answer that cannot be given,
    or None. `choices` maps a choice question's name ("" for this question) to its
    choices' short names: ``${shift} = 'nigth'`` would hide a question from everyone,
    and answers are compared by short name, not by the label people see."""
    if not expression.strip():
        return None
    for name, text in sorted(parsed(expression).compared_texts):
        names = choices.get(name)
        if names is None or text in names or not text:  # '' asks "answered or not"
            continue
        question = f"${{{name}}}" if name else _("this question")
        return _(
            "%(what)s: '%(text)s' is not a choice of %(question)s. Use one of its short"
            " names: %(names)s."
        ) % {"what": what, "text": text, "question": question, "names": ", ".join(names)}
    return None


@functools.lru_cache(maxsize=4096)
def parsed(expression: str) -> odk_xpath.Expression:
    """An expression parsed once per process. Every submission checks each question's
    relevance and constraint, and parsing them afresh was a tenth of a submission's
    time. Parsed expressions are immutable, so threads can share them."""
    return odk_xpath.parse(expression)


def field_name(question: Question) -> str:
    return f"q_{question.name}"


def read_answer(question: Question, data: Mapping[str, Any]) -> tuple[Any, str | None]:
    """The answer posted for `question` (None when left empty) and a format error."""
    if question.is_note:
        return None, None
    key = field_name(question)
    names = [c.name for c in question.choices.all()] if question.has_choices else []
    get = data.get
    if question.type in (Question.Type.SINGLE, Question.Type.RATING):
        value = (get(key) or "").strip()
        if not value:
            return None, None
        if value not in names:
            return None, _("Choose one of the options.")
        return value, None
    if question.type == Question.Type.MULTIPLE:
        values = data.getlist(key) if hasattr(data, "getlist") else list(get(key) or [])
        chosen = [n for n in names if n in values]
        return (chosen or None), None
    if question.type == Question.Type.RANKING:
        ranks: dict[str, int] = {}
        for name in names:
            raw = (get(f"{key}__{name}") or "").strip()
            if raw:
                try:
                    ranks[name] = int(raw)
                except ValueError:
                    return None, _("Give each option a number.")
        if not ranks:
            return None, None
        given = sorted(ranks.values())
        if (
            len(ranks) < len(names)
            and len(set(given)) == len(given)
            and given[0] >= 1
            and given[-1] <= len(names)
        ):
            # Numbered in part (1, 2 and a blank): what is wrong is the blank.
            return None, ngettext(
                "%(count)s option has no number. Give each option a number from 1 to %(n)s.",
                "%(count)s options have no number. Give each option a number from 1 to %(n)s.",
                len(names) - len(ranks),
            ) % {"count": len(names) - len(ranks), "n": len(names)}
        if len(ranks) != len(names) or sorted(ranks.values()) != list(range(1, len(names) + 1)):
            return None, _("Give each option a different number from 1 to %(n)s.") % {
                "n": len(names)
            }
        return sorted(ranks, key=ranks.__getitem__), None
    raw_text = (get(key) or "").strip()
    if question.type == Question.Type.CONSENT:
        return ("yes" if raw_text else None), None
    if not raw_text:
        return None, None
    if question.type == Question.Type.NUMBER:
        # 12.5 typed with a full-width keyboard (Japanese, Chinese) is 12.5.
        raw_text = ascii_forms(raw_text)
        # A comma is read only as a thousands separator (1,000 or 12,500.5). Elsewhere it
        # is most likely a decimal comma ("3,5" in Polish, Welsh or French habits), and
        # reading it as a separator would store 35: refused instead.
        not_a_number = (
            _("Enter a whole number, like 12.")
            if question.whole_number
            else _("Enter a number, like 12 or 3.5.")
        )
        if (translation.get_language() or "")[:2] in _DECIMAL_COMMA_LANGUAGES:
            # Polish writes 3,5 and groups thousands with spaces: read it as written.
            raw_text = raw_text.replace("\u00a0", "").replace(" ", "").replace(",", ".")
        elif "," in raw_text and not _THOUSANDS_RE.match(raw_text):
            return None, not_a_number
        text = raw_text.replace(",", "")
        plain = _PLAIN_NUMBER_RE.fullmatch(text)
        if plain is None or not (plain["whole"] or plain["fraction"]):
            if _EXPONENT_RE.fullmatch(text):
                return None, _("Write the number out in full, like 1000000 rather than 1e6.")
            return None, not_a_number  # "twelve", "nan", "inf", "0x1A", "1_000"
        # Significant digits: 0.0000001 has one, 1000.50 has five.
        digits = (plain["whole"] + (plain["fraction"] or "").rstrip("0")).lstrip("0")
        if len(digits) > MAX_NUMBER_DIGITS:
            return None, _("Enter a number of at most %(n)s digits.") % {"n": MAX_NUMBER_DIGITS}
        number = float(text)
        if question.whole_number and not number.is_integer():
            # Said on the page where it was typed, not first on the check page.
            return None, _("Enter a whole number, like 12.")
        return (int(number) if number.is_integer() else number), None
    if question.type == Question.Type.DATE:
        try:
            # A date typed with a full-width keyboard (Japanese, Chinese) is that date.
            day = dt.date.fromisoformat(ascii_forms(raw_text))
        except ValueError:
            return None, _("Enter a date as year-month-day, like 2024-03-01.")
        return (None, problem) if (problem := date_problem(day)) else (day.isoformat(), None)
    if has_nul(raw_text):
        # No database column of PostgreSQL can hold it (a crash, before), and nobody
        # types it on purpose: it comes with pasted text. The page shows the answer
        # again with it made visible (typed_answer), so it can be found and deleted.
        return None, _(
            "This answer holds a character that cannot be kept, shown as �. Delete it and"
            " try again."
        )
    raw_text = without_direction_controls(raw_text).strip()
    if not raw_text:
        return None, None
    limit = text_limit(question)
    if len(raw_text) > limit:
        return None, _("Keep the answer under %(n)s characters.") % {"n": limit}
    return raw_text, None


# The dates a date question takes, whatever its own rule. Year 1 or 9999 is a slip of
# the keyboard, not a day anyone means, and a spreadsheet cannot show it (the XLSX
# export wrote year 1 as -693593, shown as #####). The survey's own rule (constraint)
# applies on top.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)


def date_problem(value: Any) -> str | None:
    """Why a date answer (a date, or the ISO text a draft keeps) is outside the dates
    a survey takes; None when it is inside them, or is no date at all (a number kept
    before the question became a date, say: said elsewhere, or not at all)."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, dt.date) or EARLIEST_DATE <= value <= LATEST_DATE:
        return None
    return _("Check the year: enter a date from %(first)s to %(last)s.") % {
        "first": EARLIEST_DATE.year,
        "last": LATEST_DATE.year,
    }


SHORT_TEXT_LIMIT = 500
LONG_TEXT_LIMIT = 5000


def text_limit(question: Question) -> int:
    """The most characters a text answer may have (the page's box says so too, with
    maxlength, so that a browser stops there rather than the server refusing it)."""
    return SHORT_TEXT_LIMIT if question.type == Question.Type.SHORT_TEXT else LONG_TEXT_LIMIT


def is_relevant(question: Question, answers: Mapping[str, Any]) -> bool:
    if not question.relevant:
        return True
    try:
        return parsed(question.relevant).is_true(answers)
    except odk_xpath.XPathError:
        return True  # checked on save; an old bad expression shows the question


def missing_message(kind: str, required_message: Any, language: str, main: str) -> str:
    """What a respondent is told when a required answer is missing: the survey's own
    words (XLSForm's required_message) in `language` or the survey's main language
    `main`, otherwise Sayso's, in the respondent's language. Never the survey's words
    in a third language: a Welsh respondent never reads Polish."""
    own = pick_label(required_message, language, main=main)
    if own:
        return own
    if kind == Question.Type.CONSENT:
        return _("Tick the box to agree before you go on.")
    return _("Answer this question.")


def rule_message(own: Any, language: str, main: str) -> str:
    """What a respondent is told when an answer breaks a question's rule: the survey's
    own words (XLSForm's constraint_message) in `language` or the main language `main`,
    as missing_message picks them, otherwise Sayso's general message."""
    return pick_label(own, language, main=main) or str(RULE_NOT_FOLLOWED)


def exclusive_options(question: Question) -> dict[str, Any]:
    """The labels ({language: text}) of the question's options that are ticked on their
    own (Choice.exclusive), by short name; none unless it is a multiple choice question."""
    if question.type != Question.Type.MULTIPLE:
        return {}
    return {c.name: c.label for c in question.choices.all() if c.exclusive}


def exclusive_problem(value: Any, exclusive: Mapping[str, Any], language: str) -> str | None:
    """Why a multiple choice answer contradicts itself, or None: it ticks an option that
    stands on its own ("None of these") together with another. `exclusive` maps those
    options' short names to their labels; the option is named in `language`, the
    language the person answers in."""
    if not exclusive or not isinstance(value, list) or len(value) < 2:
        return None
    for name in value:
        if name in exclusive:
            return _("“%(option)s” can't be ticked with other options. Untick one.") % {
                "option": pick_label(exclusive[name], language, name)
            }
    return None


def check_answer(
    question: Question, value: Any, answers: Mapping[str, Any], language: str, main: str
) -> str | None:
    """The message to show next to the question, or None when the answer is acceptable.
    The survey's own messages are read in `language`, else in its main language `main`
    (missing_message)."""
    if question.is_note:
        return None
    if value is None or value == []:
        if question.required:
            return missing_message(question.type, question.required_message, language, main)
        return None
    if question.type == Question.Type.MULTIPLE:
        problem = exclusive_problem(value, exclusive_options(question), language)
        if problem:
            return problem
    if question.type == Question.Type.DATE and (problem := date_problem(value)):
        return problem  # a draft kept before dates were held to the range
    if question.constraint:
        try:
            ok = parsed(question.constraint).is_true(answers, current=value)
        except odk_xpath.XPathError:
            ok = True
        if not ok:
            return rule_message(question.constraint_message, language, main)
    return None


def typed_answer(question: Question, data: Mapping[str, Any]) -> Any:
    """What was typed for `question`, as posted, to show it again. A ranking is
    posted as one field per option (`q_<name>__<option>`): it comes back as the
    number given to each option by option name."""
    key = field_name(question)
    if question.type == Question.Type.RANKING:
        return {
            c.name: (data.get(f"{key}__{c.name}") or "").strip() for c in question.choices.all()
        }
    typed = data.get(key)
    if isinstance(typed, str) and has_nul(typed):
        # Shown as the replacement character (what a browser would show in its place),
        # so that the person can find it; a page never carries the character itself.
        return typed.replace("\x00", "\ufffd")
    return typed


def posted(question: Question, data: Mapping[str, Any]) -> bool:
    """Whether the page sent a field of `question`: a question that was on the page.
    (A choice left unticked sends nothing, so False does not mean it was hidden.)"""
    key = field_name(question)
    if question.type == Question.Type.RANKING:
        return any(f"{key}__{c.name}" in data for c in question.choices.all())
    return key in data


# The field a respondent page sends once for each question it showed (and once empty,
# so that a page showing none still says so). A page also holds the questions that do
# not apply yet, hidden, so that with JavaScript one appears as soon as an answer
# brings it up (views.page): their fields are sent too, and only this says which of
# them the person could see.
SHOWN_FIELD = "shown"


def was_shown(question: Question, data: Mapping[str, Any]) -> bool:
    """Whether the page that sent `data` showed `question` to the person."""
    if SHOWN_FIELD in data:
        names = data.getlist(SHOWN_FIELD) if hasattr(data, "getlist") else data[SHOWN_FIELD]
        return question.name in names
    return posted(question, data)  # a page sent without the field: its fields say


def newly_relevant(
    questions: Iterable[Question],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    data: Mapping[str, Any],
) -> list[Question]:
    """The questions of a page that were hidden when it was shown (by the answers
    `before`: the ones it was shown with) and that the answers just given (`after`)
    bring up. The person has not seen them yet, so they are to be shown, not refused.
    (One that appeared while the person answered, with JavaScript, was seen.)"""
    return [
        q
        for q in questions
        if not is_relevant(q, before) and is_relevant(q, after) and not was_shown(q, data)
    ]


def page_as_typed(
    questions: Iterable[Question], data: Mapping[str, Any], earlier: Mapping[str, Any]
) -> tuple[set[str], dict[str, Any], dict[str, Any]]:
    """A page as the person is filling it in, before it is sent: nothing is checked or
    kept. Returns the names of its questions that apply, judged on `earlier` (the
    answers of other pages) and this page's answers that can be read (as validate_page
    judges them); the answers that can be read, of every question, applying or not (so
    that a question hidden and brought back keeps what was typed in it); and, for an
    answer that cannot be read (a number that is not one), the text as typed."""
    page = list(questions)
    judged = dict(earlier)
    values: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    for question in page:
        value, error = read_answer(question, data)
        if error:
            typed = typed_answer(question, data)
            if typed not in (None, "", {}):
                raw[question.name] = typed
        if value is None:
            judged.pop(question.name, None)
        else:
            judged[question.name] = values[question.name] = value
    return applying(page, judged), values, raw


def deciding(questions: Iterable[Question]) -> set[str]:
    """The names of the questions whose answers decide whether another of the same
    `questions` (a page) is shown, or what its label or hint says: the ones whose
    changes are worth asking about."""
    page = list(questions)
    names = {q.name for q in page}
    named: set[str] = set()
    for question in page:
        # A label or hint showing an answer given on this page ("Years at ${site}")
        # is filled in again as that answer changes (views._questions_shown).
        named.update(text_references(question))
        if question.relevant:
            try:
                named |= parsed(question.relevant).references
            except odk_xpath.XPathError:
                continue  # shown to everyone (is_relevant): decided by nothing
    return named & names


def applying(questions: Iterable[Question], answers: Mapping[str, Any]) -> set[str]:
    """The names of the questions that apply given `answers`, judged in the page's
    order: an answer to a question that does not apply counts for nothing, as
    validate_page drops it before judging the questions after it."""
    judged = dict(answers)
    names = set()
    for question in questions:
        if is_relevant(question, judged):
            names.add(question.name)
        else:
            judged.pop(question.name, None)
    return names


def still_applying(questions: Iterable[Question], answers: Mapping[str, Any]) -> dict[str, Any]:
    """`answers` without the answers to those of `questions` (the whole survey, in its
    order) that no longer apply: what a respondent withdrew by changing an earlier
    answer is not kept. Keys that name none of the questions are left as they are."""
    ordered = list(questions)
    keep = applying(ordered, answers)
    known = {q.name for q in ordered}
    return {name: value for name, value in answers.items() if name not in known or name in keep}


def pages_to_go_through(
    pages: Sequence[Sequence[Question]], current: int, answers: Mapping[str, Any]
) -> list[int]:
    """The indexes of the pages (the survey's, in order) that the person on page
    `current` goes through, as far as `answers` (the answers so far) tell: the page
    itself, each page with a question that applies (views.page's Continue skips the
    others), and each later page with a question that an answer still to give may
    bring up (its rule names a question on this page or after it that is unanswered
    and may itself be asked). What the progress counts: a page the answers skip is
    left out, or "Page 2 of 3" would lead straight to the check page; one they may
    still bring up is counted, or "Page 1 of 1" would lead to a page 2."""
    applies = applying([q for page in pages for q in page], answers)
    still_open: set[str] = set()  # unanswered questions still to come that may be asked
    out = []
    for index, page in enumerate(pages):
        asked = False
        for question in page:
            if question.name in applies or (
                index >= current and question.relevant and _references(question) & still_open
            ):
                asked = True
                if index >= current and question.name not in answers:
                    still_open.add(question.name)
        if asked or index == current:
            out.append(index)
    return out


def _references(question: Question) -> set[str]:
    """The names a question's rule for being shown refers to (none if it is broken:
    is_relevant then shows the question to everyone)."""
    try:
        return set(parsed(question.relevant).references)
    except odk_xpath.XPathError:
        return set()


def pages_brought_up(
    pages: Sequence[Sequence[Question]],
    after: int,
    before: Mapping[str, Any],
    answers: Mapping[str, Any],
) -> set[int]:
    """The indexes of the pages after `after` with a question to answer (not a note)
    that applies with `answers` and did not with `before`: questions a changed answer
    brought up, which the person has not seen."""
    out = set()
    for index in range(after + 1, len(pages)):
        page = pages[index]
        brought_up = applying(page, answers) - applying(page, before)
        if any(q.name in brought_up and not q.is_note for q in page):
            out.add(index)
    return out


def validate_page(
    questions: Iterable[Question],
    data: Mapping[str, Any],
    answers: dict[str, Any],
    language: str,
    main: str,
) -> tuple[dict[str, str], dict[str, Any]]:
    """Read the page's answers into `answers` (in place); return errors by name and
    the text typed for answers that could not be read (to show it again). Messages
    as check_answer gives them (`main`: the survey's main language).

    Every typed answer is kept in `answers`, even one with an error, so the page is shown
    again as the person left it; irrelevant questions lose their answers.
    """
    errors: dict[str, str] = {}
    page = list(questions)
    raw: dict[str, Any] = {}
    for question in page:
        value, error = read_answer(question, data)
        if error:
            errors[question.name] = error
            raw[question.name] = typed_answer(question, data)
        if value is None:
            answers.pop(question.name, None)
        else:
            answers[question.name] = value
    for question in page:
        if not is_relevant(question, answers):
            answers.pop(question.name, None)
            errors.pop(question.name, None)
            continue
        if question.name in errors:
            continue
        message = check_answer(question, answers.get(question.name), answers, language, main)
        if message:
            errors[question.name] = message
    typed = {n: v for n, v in raw.items() if n in errors and v not in (None, "", {})}
    return errors, typed


@dataclass(frozen=True, slots=True)
class Rule:
    """One question's rules, prepared once per survey definition (selectors.definition)
    so that a submission reads plain attributes: its expressions already parsed, its
    choices already mapped to their ids."""

    name: str
    question_id: int
    type: str
    required: bool
    required_message: Any
    relevant: odk_xpath.Expression | None  # None: always shown
    constraint: odk_xpath.Expression | None  # None: any answer is accepted
    constraint_message: Any
    choice_ids: Mapping[str, int]  # choice name: id (empty unless the type has choices)
    # The options ticked on their own (Choice.exclusive): name: labels. Empty unless
    # the question is multiple choice.
    exclusive: Mapping[str, Any]


def _parsed_or_none(expression: str) -> odk_xpath.Expression | None:
    """An expression checked when saved; an old one that no longer parses is ignored,
    as is_relevant and check_answer ignore it."""
    if not expression:
        return None
    try:
        return parsed(expression)
    except odk_xpath.XPathError:
        return None


def prepare_rules(
    questions: Iterable[Question],
    choice_ids: Mapping[tuple[int, str], int],
    exclusive: Mapping[tuple[int, str], Any] | None = None,
) -> tuple[Rule, ...]:
    """The rules of `questions`, in their order. `exclusive` gives the labels of the
    options ticked on their own, by (question id, choice name)."""
    by_question: dict[int, dict[str, int]] = {}
    for (question_id, name), choice_id in choice_ids.items():
        by_question.setdefault(question_id, {})[name] = choice_id
    alone: dict[int, dict[str, Any]] = {}
    for (question_id, name), labels in (exclusive or {}).items():
        alone.setdefault(question_id, {})[name] = labels
    return tuple(
        Rule(
            name=q.name,
            question_id=q.pk,
            type=str(q.type),
            required=q.required,
            required_message=q.required_message,
            relevant=_parsed_or_none(q.relevant),
            constraint=_parsed_or_none(q.constraint),
            constraint_message=q.constraint_message,
            choice_ids=by_question.get(q.pk, {}) if q.has_choices else {},
            exclusive=alone.get(q.pk, {}) if q.type == Question.Type.MULTIPLE else {},
        )
        for q in questions
    )


def check_all(
    rules: Iterable[Rule], answers: dict[str, Any], language: str, main: str
) -> dict[str, str]:
    """Check every question before submission (relevance may have changed): the
    irrelevant answers are dropped from `answers` (in place); the messages are those
    of check_answer (`main`: the survey's main language), by question name."""
    errors: dict[str, str] = {}
    for rule in rules:
        name = rule.name
        if rule.relevant is not None:
            try:
                shown = rule.relevant.is_true(answers)
            except odk_xpath.XPathError:
                shown = True
            if not shown:
                answers.pop(name, None)
                continue
        if rule.type == Question.Type.NOTE:
            continue
        value = answers.get(name)
        if value is None or value == []:
            if rule.required:
                errors[name] = missing_message(rule.type, rule.required_message, language, main)
            continue
        if rule.exclusive:
            problem = exclusive_problem(value, rule.exclusive, language)
            if problem:
                errors[name] = problem
                continue
        if rule.type == Question.Type.DATE and (problem := date_problem(value)):
            errors[name] = problem  # a draft kept before dates were held to the range
            continue
        if rule.constraint is not None:
            try:
                ok = rule.constraint.is_true(answers, current=value)
            except odk_xpath.XPathError:
                ok = True
            if not ok:
                errors[name] = rule_message(rule.constraint_message, language, main)
    return errors


def valid_name(name: str) -> bool:
    return bool(NAME_RE.match(name))


# --------------------------------------------------------------------------- answers in texts

# "Years worked at ${site}": a question's label or hint may show the answer to an
# earlier question, as in XLSForm (KoboToolbox forms use it often). Anything between
# "${" and "}" is a reference; one that is not an earlier question's short name is
# refused where the text is written (the builder, an import).
REFERENCE_RE = re.compile(r"\$\{([^}]*)\}")


def references_in(*texts: Any) -> list[str]:
    """The names `texts` refer to with ${name}, in order, each once. A text is a str
    or a {language: text} dict (all its languages)."""
    found: dict[str, None] = {}
    for text in texts:
        values = text.values() if isinstance(text, dict) else [text]
        for value in values:
            for name in REFERENCE_RE.findall(str(value or "")):
                found[name.strip()] = None
    return list(found)


def text_references(question: Question) -> list[str]:
    """The names a question's label and hint refer to, in any of its languages."""
    return references_in(question.label, question.hint)


def reference_problem(names: Sequence[str], earlier: Collection[str]) -> str | None:
    """Why the references `names` of a text cannot be filled in (None: they can): each
    must be the short name of an earlier question."""
    for name in names:
        if name not in earlier:
            return _(
                "${%(name)s} is not the short name of an earlier question, so it cannot"
                " show that answer here. Use the short name of a question asked before this"
                " one, or take the ${ } out."
            ) % {"name": name}
    return None


def answer_text(question: Question, value: Any, language: str, default_language: str) -> str:
    """An answer as it fills a reference in a text: a choice's label in the
    respondent's language, several choices joined with commas, a number or a date as
    the check page writes it; "" when not answered."""
    if value is None or value == "" or value == []:
        return ""
    if question.has_choices:
        labels = {
            c.name: shown(c.label, language, default_language, c.name)
            for c in question.choices.all()
        }
        values = value if isinstance(value, list) else [value]
        return ", ".join(str(labels.get(str(v)) or v) for v in values)
    return str(answer_shown(question, value, language))


def filled(
    text: Shown,
    answers: Mapping[str, Any],
    questions: Mapping[str, Question],
    language: str,
    default_language: str,
) -> Shown:
    """`text` with each ${name} replaced by the respondent's answer to that question
    (answer_text; "…" when not answered; "" for a name that is no question). Plain
    text: the page escapes it."""
    if "${" not in text:
        return text

    def answer(match: re.Match[str]) -> str:
        question = questions.get(match.group(1).strip())
        if question is None:
            return ""
        # Not answered (yet: on this page without JavaScript, or skipped): "at …?"
        # reads as a gap to fill, where "at ?" read as a mistake.
        return answer_text(question, answers.get(question.name), language, default_language) or "…"

    return Shown(REFERENCE_RE.sub(answer, str(text)), text.lang)
