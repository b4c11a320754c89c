"""XLSForm in and out, through pyxform.

Import checks the whole workbook first (every problem named with its sheet, row and
reason), then creates the survey in one transaction, so a refused form creates nothing.
"""

from __future__ import annotations

import functools
import io
import posixpath
import re
import tempfile
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, cast

from django.db import transaction
from django.utils import translation
from django.utils.formats import number_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from sayso.core.models import Community
from sayso.core.text import has_nul, without_direction_controls

from . import logic
from .models import Choice, Question, Section, Survey, pick_label

TYPES = {
    "select_one": Question.Type.SINGLE,
    "select_multiple": Question.Type.MULTIPLE,
    "rank": Question.Type.RANKING,
    "integer": Question.Type.NUMBER,
    "decimal": Question.Type.NUMBER,
    "date": Question.Type.DATE,
    "text": Question.Type.SHORT_TEXT,
    "acknowledge": Question.Type.CONSENT,
    "note": Question.Type.NOTE,
}
PYXFORM_TYPES = {
    "select one": Question.Type.SINGLE,
    "select all that apply": Question.Type.MULTIPLE,
    "rank": Question.Type.RANKING,
    "integer": Question.Type.NUMBER,
    "decimal": Question.Type.NUMBER,
    "date": Question.Type.DATE,
    "text": Question.Type.SHORT_TEXT,
    "acknowledge": Question.Type.CONSENT,
    "note": Question.Type.NOTE,
}
# Notes with these names, before the first question, hold the survey's own texts (the
# title's translations among them: pyxform cannot turn a translated form_title into an
# XForm, so the settings sheet holds the main language's title only).
SURVEY_NOTES = {"survey_title": "title", "welcome": "welcome", "privacy_notice": "privacy_notice"}
# Metadata that records when and on which device: never stored, and said so.
PRIVACY_DROPPED = {
    "start",
    "end",
    "today",
    "deviceid",
    "phonenumber",
    "username",
    "email",
    "audit",
    "simserial",
    "subscriberid",
}
# Columns whose meaning Sayso cannot follow: the form is refused, with the reason.
UNSUPPORTED_COLUMNS = {
    "calculation": "calculated values are not supported",
    "choice_filter": "cascading choices (choice_filter) are not supported; ask separate"
    " questions and show each with 'relevant'",
    "repeat_count": "repeats are not supported",
    "default": "default answers are not supported: a respondent gives every answer",
    "trigger": "triggered recalculation is not supported",
}
# Columns that only change how a form looks or speaks in ODK: the form is imported
# without them, and the organiser is told which.
NOT_KEPT_COLUMNS = {
    "guidance_hint": "guidance hints are not shown",
    "media": "images, audio and video are not shown",
    "image": "images are not shown",
    "big-image": "images are not shown",
    "audio": "audio is not played",
    "video": "video is not shown",
    "parameters": "question parameters (such as randomised choices) are not used",
    "read_only": "read-only questions are not supported; the question is asked",
    "autoplay": "media is not played",
}
# Appearances Sayso gives a meaning to; others are named as not kept.
KEPT_APPEARANCES = {"", "multiline", "likert", "field-list"}
KEPT_SETTINGS = {"form_title", "form_id", "id_string", "version", "default_language", "name"}
UNSUPPORTED_TYPES = {
    "calculate": "calculated values are not supported",
    "select_one_from_file": "choices from a file are not supported; put the choices on the"
    " choices sheet",
    "select_multiple_from_file": "choices from a file are not supported; put the choices on"
    " the choices sheet",
    "select_one_external": "external choices are not supported; put the choices on the"
    " choices sheet",
    "hidden": "hidden values are not supported",
}
# A row that opens or closes a group or a repeat, spelt as pyxform reads it: "begin_group"
# or "begin group" (an underscore or a space), and "lgroup", "loop" and "looped group"
# as other names for a repeat.
_CONTROL = re.compile(
    r"^(?P<edge>begin|end)[\s_](?P<what>group|lgroup|repeat|looped group|loop)(?=\s|$)"
)
# How pyxform also lets a choice question's type be written, and Sayso's own spelling of
# each ("select one shifts" is "select_one shifts"); the first that matches applies.
_SELECT_SPELLINGS = (
    (re.compile(r"^select[\s_](one|multiple)[\s_]from[\s_]file(?=\s|$)"), r"select_\1_from_file"),
    (re.compile(r"^select[\s_]one[\s_]external(?=\s|$)"), "select_one_external"),
    (re.compile(r"^select one(?=\s|$)"), "select_one"),
    (re.compile(r"^select all that apply(?=\s|$)"), "select_multiple"),
)


def _select_spelled_as_sayso(kind: str) -> str:
    for spelling, ours in _SELECT_SPELLINGS:
        if spelling.match(kind):
            return spelling.sub(ours, kind, count=1)
    return kind


# "English (en)": a language's name and, in brackets, its code (ODK's convention).
LANGUAGE_RE = re.compile(r"^(.*?)\s*\(\s*([A-Za-z0-9_-]+)\s*\)\s*$")
# The columns whose texts an import keeps, by language ("label::Welsh (cy)"); the
# language of each must be known. (Other translated columns, such as media, are left
# out, and their language does not matter.) Lower case, as pyxform reads them.
TRANSLATED_COLUMNS = {
    "survey": {
        "label",
        "caption",
        "hint",
        "required_message",
        "requiredmsg",
        "jr:requiredmsg",
        "constraint_message",
        "constraining_message",
        "jr:constraintmsg",
    },
    "choices": {"label", "caption"},
    "settings": {"form_title", "set_form_title"},
}
# Sayso's own column: the question may break results down (pyxform passes it through).
BREAKDOWN_COLUMN = "sayso_breakdown"


# An option ticked on its own (Choice.exclusive) has no column in XLSForm: it is written
# as a constraint that ODK and Kobo enforce, one clause per option, joined by `and` to
# the question's own constraint (in brackets, so an `or` in it keeps its meaning). An
# import reads exactly that shape back as the mark; any other constraint stays one.
_EXCLUSIVE_CLAUSE = (
    r"not\(\s*selected\(\s*\.\s*,\s*'([A-Za-z0-9_]+)'\s*\)\s+and\s+"
    r"count-selected\(\s*\.\s*\)\s*>\s*1\s*\)"
)
_LAST_EXCLUSIVE_CLAUSE = re.compile(_EXCLUSIVE_CLAUSE + r"\s*$")
_TRAILING_AND = re.compile(r"\s+and$")


def exclusive_clause(name: str) -> str:
    """The XPath that refuses the option `name` ticked with any other."""
    return f"not(selected(., '{name}') and count-selected(.) > 1)"


def with_exclusive(constraint: str, names: list[str]) -> str:
    """`constraint` with a clause for each option of `names` that stands on its own."""
    clauses = " and ".join(exclusive_clause(name) for name in names)
    if not clauses:
        return constraint
    return f"({constraint.strip()}) and {clauses}" if constraint.strip() else clauses


def _wrapped(text: str) -> bool:
    """Whether `text` is one bracketed expression: "(a or b)", not "(a) or (b)"."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth, quote = 0, ""
    for position, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0 and position != len(text) - 1:
                return False
    return depth == 0


def split_exclusive(constraint: str) -> tuple[str, list[str]]:
    """`constraint` without the clauses that `with_exclusive` wrote, and the options
    they name, in order. A constraint of any other shape comes back whole, with none."""
    rest = constraint.strip()
    names: list[str] = []
    while rest:
        found = _LAST_EXCLUSIVE_CLAUSE.search(rest)
        if found is None:
            break
        before = rest[: found.start()].rstrip()
        if before and not _TRAILING_AND.search(before):
            break  # "x or not(...)": the clause is not one of the constraint's parts
        names.insert(0, found.group(1))
        rest = _TRAILING_AND.sub("", before).rstrip()
    if not names or len(set(names)) != len(names):
        return constraint, []
    if not rest:
        return "", names
    if _wrapped(rest):
        return rest[1:-1].strip(), names
    return constraint, []


def split_kept_exclusive(constraint: str, options: Collection[str]) -> tuple[str, list[str]]:
    """`constraint` as an import stores it, and the options of `options` (a question's
    choice names) that it marks as ticked on their own: the clauses are read as marks
    only when each names one of the options and they do not mark every option;
    otherwise the constraint is kept whole, with none."""
    rest, names = split_exclusive(constraint)
    if not names or any(n not in options for n in names) or set(names) >= set(options):
        return constraint, []
    return rest, names


def exclusive_message(labels: list[Any], language: str) -> str:
    """What ODK and Kobo say when options that stand on their own (their `labels`) are
    ticked with others: Sayso's words in `language` where Sayso has them."""
    with translation.override(language):
        return " ".join(
            _("“%(option)s” can't be ticked with other options. Untick one.")
            % {"option": pick_label(label, language)}
            for label in labels
        )


class XLSFormError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Inspection:
    """What reading the workbook found before anything is created."""

    problems: list[str]  # reasons to refuse the form: nothing is created
    notes: list[str]  # what is imported without (said to the organiser)
    has_title: bool  # the settings sheet gives a form_title
    # By question name, reasons to refuse that hold only if the import keeps the
    # question's constraint message (see _exclusive_from): a too long message that is
    # only the one an export wrote for options ticked on their own is not kept.
    if_message_kept: dict[str, list[str]] = dataclass_field(default_factory=dict)


@dataclass(frozen=True)
class Imported:
    survey: Survey
    notes: list[str]


def _folded(text: str) -> str:
    """`text` for comparing language names: lower case, without accents, single spaces
    ("Norwegian Bokmål" and "norwegian bokmal" are the same)."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


@functools.cache
def _codes_by_name() -> dict[str, str]:
    """Language codes by language name, in English ("welsh") and in the language itself
    ("cymraeg"), from Django's list of languages."""
    from django.conf.locale import LANG_INFO

    out: dict[str, str] = {}
    for tag, info in LANG_INFO.items():
        if "code" not in info:  # an alias ("zh-tw"), pointing at another entry
            continue
        for key in ("name", "name_local"):
            out.setdefault(_folded(str(info.get(key, ""))), tag)
    out.pop("", None)
    return out


def language_code(key: str) -> str | None:
    """The language code an XLSForm language names, or None when it cannot be told.

    "English (en)" (ODK's way) gives the code in brackets; a code alone ("cy") is
    taken as it is; a language's name alone, in English or in the language itself
    ("Welsh", "Cymraeg"), gives its code from Django's list of languages. The column
    without a language ("default") is English unless the form says otherwise."""
    text = (key or "").strip()
    if text in ("default", ""):
        return "en"
    match = LANGUAGE_RE.match(text)
    names = [text]
    if match:
        code = match.group(2).replace("_", "-").lower()
        if logic.is_language_code(code):
            return code
        names = [match.group(2), match.group(1)]  # "English (english)", "(Welsh)"
    else:
        code = text.replace("_", "-").lower()
        if logic.is_language_code(code):
            return code
    known = _codes_by_name()
    return next((known[_folded(n)] for n in names if _folded(n) in known), None)


def _code_of(key: str) -> str:
    """`key`'s language code, for a form whose languages `inspect_workbook` checked."""
    code = language_code(key)
    if code is None:  # refused by the inspection first, by sheet and column
        raise XLSFormError(
            [
                _(
                    "Sayso cannot tell which language '%(language)s' is. Put the"
                    " language's code in brackets after its name in the column names,"
                    " like 'label::Welsh (cy)', and import the file again."
                )
                % {"language": key}
            ]
        )
    return code


def _unknown_language_problem(where: str, column: str, base: str) -> str:
    return _(
        "%(where)s, column '%(column)s': Sayso cannot tell which language this is. Put"
        " the language's code in brackets after its name, like '%(example)s', and import"
        " the file again."
    ) % {"where": where, "column": column, "example": f"{base}::Welsh (cy)"}


def _language_problems(sheet: str, head: list[str]) -> list[str]:
    """A reason to refuse for each column of `sheet` whose texts are kept but whose
    language cannot be told, and for two columns that hold the same text in one
    language ("label::Welsh" and "label::Cymraeg (cy)")."""
    where = _("%(sheet)s sheet") % {"sheet": sheet}
    problems: list[str] = []
    seen: dict[tuple[str, str], str] = {}
    # As pyxform reads them: "label::Welsh", or "label:Welsh" in a sheet without "::".
    delimiter = "::" if any("::" in column for column in head) else ":"
    for column in head:
        tokens = [t.strip() for t in column.split(delimiter)]
        if delimiter == ":" and tokens[0].lower() == "jr" and len(tokens) > 1:
            tokens = [f"jr:{tokens[1]}", *tokens[2:]]  # "jr:constraintMsg:Welsh"
        base = "_".join(tokens[0].split()).lower()
        if len(tokens) != 2 or base not in TRANSLATED_COLUMNS.get(sheet, set()):
            continue
        code = language_code(tokens[1])
        if code is None:
            problems.append(_unknown_language_problem(where, column, tokens[0]))
            continue
        earlier = seen.setdefault((base, code), column)
        if earlier != column:
            problems.append(
                _(
                    "%(where)s: the columns '%(first)s' and '%(second)s' are both in the"
                    " language %(code)s. Keep one of them."
                )
                % {"where": where, "first": earlier, "second": column, "code": code}
            )
    return problems


def _labels(value: Any, main: str = "en") -> dict[str, str]:
    """{language code: text}. The unnamed language is the form's default (`main`).

    A translation equal to the main language's text is dropped: some XLSForm tools
    (and Sayso's exports before it left such cells empty) repeat the main text where a
    translation is missing, and Sayso shows the main text there anyway."""
    if not isinstance(value, dict):
        text = _shown(str(value)) if value else ""
        return {main: text} if text else {}
    out = {
        (main if k == "default" else _code_of(k)): _shown(str(v))
        for k, v in value.items()
        if v is not None and _shown(str(v)) != ""
    }
    first = out.get(main)
    return {k: v for k, v in out.items() if k == main or v != first}


# ------------------------------------------------------------ what an import reads, at most
#
# An .xlsx file is a zip of XML parts, and a small one can be built to become huge once
# read: a sheet that says it spans every column and row, hundreds of thousands of rows,
# a part that unpacks to gigabytes. So an import first copies only what a form is read
# from (the list of sheets, the sheets an XLSForm has, their shared texts and the
# formatting that tells a date from a number) into a new workbook, counting as it
# unpacks, and refuses a file past any of these limits before openpyxl or pyxform reads
# it; the other parts (pictures, comments, other sheets) are not unpacked at all. The
# limits are far above any real Kobo or ODK form (a large one has a few hundred
# questions and a few thousand choices), and keep an import to tens of MB and seconds.
MAX_FILLED_ROWS = 5_000  # rows with something in them below the headings, per sheet
MAX_SHEET_ROWS = 50_000  # rows of any kind in a sheet, empty or formatted ones too
MAX_COLUMNS = 500  # columns, up to the last heading
MAX_ROW_CELLS = 16_384  # cells in one row (Excel's own number of columns)
MAX_ROW_NUMBER = 1_048_576  # Excel's last row
MAX_ZIP_PARTS = 1_000  # parts the file is made of (a spreadsheet has a few dozen)
MAX_PART_BYTES = 20 * 1024 * 1024  # one part that is read, unpacked
MAX_READ_BYTES = 50 * 1024 * 1024  # all the parts that are read, unpacked
MAX_PIECES = 500_000  # XML elements read in all: rows, cells, values, texts, formatting
# XML elements that openpyxl holds at once: a part it reads whole (the formatting, the
# list of sheets), what a sheet has outside its rows (widths, merged cells), one row,
# one shared text.
MAX_HELD_PIECES = 20_000
MAX_RECORD_PIECES = 40_000
MAX_STRINGS = 100_000  # shared texts

_ZIP_CENTRAL_ENTRY = b"PK\x01\x02"  # each part's entry in the zip's directory starts so


class _OverLimitError(Exception):
    """A part goes past a limit; `what` says which, `number` by how much or where."""

    def __init__(self, what: str, number: int = 0) -> None:
        super().__init__(what)
        self.what = what
        self.number = number


class _Scan:
    """Counts a part's XML as it is unpacked, in constant memory, and stops it past a
    limit. `records` names the element openpyxl reads and lets go of one at a time
    ("row" in a sheet, "si" in the shared texts); anything else in the part it holds."""

    def __init__(self, records: str, budget: list[int]) -> None:
        from xml.parsers import expat

        self.records = records
        self.budget = budget  # XML elements the whole file may still have, shared
        self.held = self.rows = self.filled = 0
        self.depth = self.record_depth = self.text_depth = 0
        self.record_pieces = self.record_cells = self.row_number = 0
        self.record_filled = False
        self.parser = expat.ParserCreate()
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.EntityDeclHandler = self._entity
        if records == "row":
            self.parser.CharacterDataHandler = self._text

    def feed(self, chunk: bytes, last: bool = False) -> None:
        self.parser.Parse(chunk, last)

    def _entity(self, *_args: Any) -> None:
        raise _OverLimitError("entity")  # no spreadsheet declares entities; a billion laughs does

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        local = name[name.rfind(":") + 1 :]
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise _OverLimitError("pieces")
        if self.record_depth:
            self.record_pieces += 1
            if local == "c":
                self.record_cells += 1
            if self.record_pieces > MAX_RECORD_PIECES or self.record_cells > MAX_ROW_CELLS:
                raise _OverLimitError("record", self.row_number)
            if local in ("v", "t") and not self.text_depth:
                self.text_depth = self.depth
        elif local == self.records:
            self.record_depth = self.depth
            self.record_pieces = self.record_cells = 0
            self.record_filled = False
            self.rows += 1
            if self.records == "row":
                self.row_number = _row_number(attrs.get("r"), self.row_number)
                if self.row_number > MAX_ROW_NUMBER:
                    raise _OverLimitError("row_number", self.row_number)
            if self.records == "row" and self.rows > MAX_SHEET_ROWS:
                raise _OverLimitError("rows")
            if self.records == "si" and self.rows > MAX_STRINGS:
                raise _OverLimitError("strings")
        else:
            self.held += 1
            if self.held > MAX_HELD_PIECES:
                raise _OverLimitError("held")

    def _end(self, _name: str) -> None:
        if self.depth == self.text_depth:
            self.text_depth = 0
        if self.depth == self.record_depth:
            self.record_depth = 0
            if self.record_filled and self.row_number != 1:
                self.filled += 1
                if self.filled > MAX_FILLED_ROWS:
                    raise _OverLimitError("filled")
        self.depth -= 1

    def _text(self, data: str) -> None:
        if self.text_depth and not self.record_filled and data.strip():
            self.record_filled = True


def _row_number(given: str | None, previous: int) -> int:
    """A row's number, as openpyxl reads it: its `r`, or the one after the last."""
    if given is None:
        return previous + 1
    try:
        return int(float(given))
    except (ValueError, OverflowError):
        return previous + 1  # openpyxl refuses it, when it reads the sheet


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def _form_parts(data: bytes) -> bytes:
    """The workbook made again of the parts an XLSForm is read from, each checked
    against the limits as it is unpacked. Refused (XLSFormError) past a limit, or when
    the file is not an .xlsx spreadsheet."""
    import zipfile
    from xml.etree import ElementTree

    from defusedxml.ElementTree import fromstring
    from openpyxl.xml.constants import XLSM, XLSX, XLTM, XLTX
    from pyxform.constants import SUPPORTED_SHEET_NAMES

    not_xlsx = XLSFormError([_not_xlsx()])
    parts = data.count(_ZIP_CENTRAL_ENTRY)  # zipfile reads no more entries than these
    if parts > MAX_ZIP_PARTS:
        raise XLSFormError(
            [
                _(
                    "The file is made of %(parts)s parts; a spreadsheet has a few dozen, and"
                    " Sayso reads files of at most %(max)s. Is this the right file?"
                )
                % {"parts": _count(parts), "max": _count(MAX_ZIP_PARTS)}
            ]
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise not_xlsx from None
    budget = [MAX_PIECES]
    unpacked = [0]

    def where(part: str, sheet: str | None) -> str:
        if sheet is not None:
            return _("the %(sheet)s sheet") % {"sheet": sheet}
        return _("part %(part)s of the file") % {"part": part}

    def refusal(over: _OverLimitError, part: str, sheet: str | None) -> XLSFormError:
        place = where(part, sheet)
        if over.what == "entity":
            return not_xlsx
        if over.what == "pieces":
            text = _(
                "There is more in %(where)s than Sayso reads: a file may hold at most"
                " %(max)s cells, rows and other pieces in all. Is this the right file?"
            ) % {"where": place, "max": _count(MAX_PIECES)}
        elif over.what == "held":
            text = _(
                "%(where)s holds more formatting and other settings than Sayso reads (at"
                " most %(max)s pieces). Copy the form into a new spreadsheet, save it and"
                " try again."
            ) % {"where": capfirst(place), "max": _count(MAX_HELD_PIECES)}
        elif over.what == "record" and sheet is not None:
            text = _(
                "Row %(row)s of the %(sheet)s sheet holds more than Sayso reads in a row"
                " (at most %(max)s cells). Is this the right file?"
            ) % {"row": _count(over.number), "sheet": sheet, "max": _count(MAX_ROW_CELLS)}
        elif over.what == "record":
            text = _(
                "A text in %(where)s holds more than Sayso reads (at most %(max)s pieces)."
                " Is this the right file?"
            ) % {"where": place, "max": _count(MAX_RECORD_PIECES)}
        elif over.what == "filled":
            text = _(
                "The %(sheet)s sheet has more than %(max)s rows of questions or choices;"
                " Sayso reads at most %(max)s per sheet. Is this the right file?"
            ) % {"sheet": sheet, "max": _count(MAX_FILLED_ROWS)}
        elif over.what == "rows":
            text = _(
                "The %(sheet)s sheet goes on for more than %(max)s rows, counting empty or"
                " formatted ones; Sayso reads at most %(max)s rows in a sheet. Delete the"
                " rows below the form (or copy the form into a new spreadsheet) and try"
                " again."
            ) % {"sheet": sheet, "max": _count(MAX_SHEET_ROWS)}
        elif over.what == "strings":
            text = _(
                "%(where)s holds more than %(max)s texts; Sayso reads at most that many."
                " Is this the right file?"
            ) % {"where": capfirst(place), "max": _count(MAX_STRINGS)}
        else:  # "row_number"
            text = _(
                "The %(sheet)s sheet has a row %(row)s, past the last row a spreadsheet"
                " can have (%(max)s). Is this the right file?"
            ) % {"sheet": sheet, "row": _count(over.number), "max": _count(MAX_ROW_NUMBER)}
        return XLSFormError([text])

    def take(part: str, records: str, sheet: str | None, sink: Any = None) -> _Scan:
        """Unpack `part` (into `sink`, a file in the new workbook, when given),
        scanning it; refused past a limit."""
        size = archive.getinfo(part).file_size  # zipfile unpacks no more than this
        unpacked[0] += size
        if size > MAX_PART_BYTES:
            raise XLSFormError(
                [
                    _(
                        "%(where)s takes up %(mb).1f MB once unpacked; Sayso reads at most"
                        " %(max)s MB of any one part of a file. Is this the right file?"
                    )
                    % {
                        "where": capfirst(where(part, sheet)),
                        "mb": size / 1e6,
                        "max": MAX_PART_BYTES // (1024 * 1024),
                    }
                ]
            )
        if unpacked[0] > MAX_READ_BYTES:
            raise XLSFormError(
                [
                    _(
                        "The sheets of this file take up more than %(max)s MB once unpacked;"
                        " Sayso reads at most that. Is this the right file?"
                    )
                    % {"max": MAX_READ_BYTES // (1024 * 1024)}
                ]
            )
        scan = _Scan(records, budget)
        try:
            with archive.open(part) as source:
                while chunk := source.read(64 * 1024):
                    scan.feed(chunk)
                    if sink is not None:
                        sink.write(chunk)
            scan.feed(b"", last=True)
        except _OverLimitError as over:
            raise refusal(over, part, sheet) from None
        except Exception:  # not XML, or not unpacked: openpyxl could not read it either
            raise not_xlsx from None
        return scan

    def read_whole(part: str) -> ElementTree.Element:
        sink = io.BytesIO()
        take(part, "", None, sink)
        try:
            return cast(ElementTree.Element, fromstring(sink.getvalue()))
        except Exception:
            raise not_xlsx from None

    with archive:
        names = set(archive.namelist())
        if "[Content_Types].xml" not in names:
            raise not_xlsx
        # The workbook part, the shared texts and the formatting, where openpyxl looks.
        book_part, strings_part = "", ""
        for item in read_whole("[Content_Types].xml"):
            name = item.get("PartName", "").lstrip("/")
            kind = item.get("ContentType", "")
            if kind in (XLTM, XLTX, XLSM, XLSX) and not book_part:
                book_part = name
            elif kind.endswith("spreadsheetml.sharedStrings+xml"):
                strings_part = name
        book_part = book_part or "xl/workbook.xml"
        if book_part not in names:
            raise not_xlsx
        book = read_whole(book_part)
        targets: dict[str, tuple[str, str]] = {}
        rels_part = _rels_path(book_part)
        if rels_part in names:
            parent = posixpath.dirname(book_part)
            for rel in read_whole(rels_part):
                target = rel.get("Target", "")
                if rel.get("TargetMode") == "External" or not target:
                    continue
                path = (
                    target[1:]
                    if target.startswith("/")
                    else posixpath.normpath(posixpath.join(parent, target))
                )
                targets[rel.get("Id", "")] = (rel.get("Type", ""), path)
        rel_id = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
        sheets: list[tuple[str, str]] = []
        date1904 = False
        for element in book.iter():
            if _local(element.tag) == "workbookPr":
                date1904 = element.get("date1904", "") in ("1", "true")
            if _local(element.tag) != "sheet":
                continue
            kind, path = targets.get(element.get(rel_id, ""), ("", ""))
            if path in names and not kind.endswith("/chartsheet"):
                sheets.append((element.get("name", ""), path))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as made:
            overrides = []
            for number, (sheet, path) in enumerate(sheets, start=1):
                name = f"xl/worksheets/sheet{number}.xml"
                overrides.append((name, "spreadsheetml.worksheet+xml"))
                with made.open(name, "w") as sink:
                    # Only the sheets an XLSForm has are read; others keep their name,
                    # for pyxform's "did you mean" (a misspelt "survey" sheet).
                    if sheet.lower() in SUPPORTED_SHEET_NAMES or len(sheets) == 1:
                        take(path, "row", sheet, sink)
                    else:
                        sink.write(_EMPTY_SHEET)
            if strings_part in names:
                overrides.append(("xl/sharedStrings.xml", "spreadsheetml.sharedStrings+xml"))
                with made.open("xl/sharedStrings.xml", "w") as sink:
                    take(strings_part, "si", None, sink)
            if "xl/styles.xml" in names:
                overrides.append(("xl/styles.xml", "spreadsheetml.styles+xml"))
                with made.open("xl/styles.xml", "w") as sink:
                    take("xl/styles.xml", "", None, sink)
            _write_workbook(made, sheets, overrides, date1904)
        return out.getvalue()


_EMPTY_SHEET = (
    b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="'
    b'http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>'
)


def _write_workbook(
    made: Any, sheets: list[tuple[str, str]], overrides: list[tuple[str, str]], date1904: bool
) -> None:
    """The new workbook's own parts: its list of sheets, and what each part is."""
    from xml.sax.saxutils import quoteattr

    head = '<?xml version="1.0" encoding="UTF-8"?>'
    office = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    kinds = "application/vnd.openxmlformats-officedocument."
    types = "".join(
        f'<Override PartName="/{name}" ContentType="{kinds}{kind}"/>' for name, kind in overrides
    )
    made.writestr(
        "[Content_Types].xml",
        f'{head}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{kinds}spreadsheetml.sheet.'
        f'main+xml"/>{types}</Types>',
    )
    made.writestr(
        "_rels/.rels",
        f'{head}<Relationships xmlns="{package}"><Relationship Id="rId1" Type="{office}/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>',
    )
    listed = "".join(
        f'<sheet name={quoteattr(sheet)} sheetId="{n}" r:id="rId{n}"/>'
        for n, (sheet, _path) in enumerate(sheets, start=1)
    )
    made.writestr(
        "xl/workbook.xml",
        f'{head}<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
        f' xmlns:r="{office}"><workbookPr date1904="{int(date1904)}"/>'
        f"<sheets>{listed}</sheets></workbook>",
    )
    rels = [
        f'<Relationship Id="rId{n}" Type="{office}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, len(sheets) + 1)
    ]
    for name, kind in overrides:
        if "worksheet" not in kind:
            short = "sharedStrings" if "sharedStrings" in kind else "styles"
            rels.append(
                f'<Relationship Id="rId{short}" Type="{office}/{short}"'
                f' Target="{posixpath.basename(name)}"/>'
            )
    made.writestr(
        "xl/_rels/workbook.xml.rels",
        f'{head}<Relationships xmlns="{package}">{"".join(rels)}</Relationships>',
    )


def _not_xlsx() -> str:
    return _("The file is not an .xlsx spreadsheet. Save it as Excel (.xlsx) and try again.")


def _count(number: int) -> str:
    """A number as the organiser reads it: 200,000."""
    return str(number_format(number, force_grouping=True))


def _rows(sheet: Any) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        return _read_rows(sheet)
    except XLSFormError:
        raise
    except Exception:  # a cell openpyxl cannot read (a broken reference, a missing text)
        raise XLSFormError([_not_xlsx()]) from None


def _read_rows(sheet: Any) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The sheet's headings (row 1) and, by row number, each later row's cells that have
    a heading and something in them. Read a row at a time, as far as the last heading:
    nothing right of it, nor the size the sheet says it has (which can say anything)."""
    from openpyxl.utils import get_column_letter

    sheet.reset_dimensions()
    first = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
    head = [str(h).strip() if h is not None else "" for h in first]
    while head and not head[-1]:
        head.pop()
    if len(head) > MAX_COLUMNS:
        raise XLSFormError(
            [
                _(
                    "Row 1 of the %(sheet)s sheet has headings as far as column %(column)s"
                    " (%(count)s columns); Sayso reads at most %(max)s columns. Delete what"
                    " is right of the form's headings and try again."
                )
                % {
                    "sheet": sheet.title,
                    "column": get_column_letter(len(head)),
                    "count": _count(len(head)),
                    "max": _count(MAX_COLUMNS),
                }
            ]
        )
    out: list[tuple[int, dict[str, str]]] = []
    if not head:
        return head, out
    width = len(head)
    rows = sheet.iter_rows(min_row=2, max_col=width, values_only=True)
    for number, row in enumerate(rows, start=2):
        if row.count(None) == width:
            continue  # an empty row (or one of the gaps between rows openpyxl fills in)
        cells = {
            h: str(v).strip()
            for h, v in zip(head, row, strict=False)
            if h and v is not None and str(v).strip()
        }
        if cells:
            out.append((number, cells))
    return head, out


def _rows_text(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    more = len(numbers) - 10
    if len(numbers) == 1:
        return _("row %(rows)s") % {"rows": shown}
    if more > 0:
        return _("rows %(rows)s and %(more)s more") % {"rows": shown, "more": more}
    return _("rows %(rows)s") % {"rows": shown}


def check_workbook(data: bytes) -> list[str]:
    """Every reason the workbook cannot be imported, as 'sheet, row N: reason'."""
    return inspect_workbook(data).problems


def inspect_workbook(data: bytes) -> Inspection:
    """The reasons to refuse the workbook, and what an import would leave out."""
    try:
        return _inspect(_form_parts(data))
    except XLSFormError as error:
        return Inspection(error.problems, [], False)


def _inspect(data: bytes) -> Inspection:
    """`inspect_workbook` for a workbook that `_form_parts` made, within the limits."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        return Inspection([_not_xlsx()], [], False)
    problems: list[str] = []
    if "survey" not in book.sheetnames:
        return Inspection(
            [_("The 'survey' sheet is missing: an XLSForm needs one, with a row per question.")],
            [],
            False,
        )
    head, survey_rows = _rows(book["survey"])
    for column in ("type", "name"):
        if column not in head:
            problems.append(
                _("survey sheet, row 1: the '%(c)s' column is missing.") % {"c": column}
            )
    if problems:
        return Inspection(problems, [], False)
    # Each kept text's language, as a code: "label::Welsh" is Welsh, cy.
    problems.extend(_language_problems("survey", head))
    # What is left out, by reason, with the rows it concerns (said once per reason).
    not_kept: dict[str, list[int]] = {}
    dropped_metadata: list[str] = []
    has_title = False
    collapse_spaces = True  # pyxform's clean_text_values, on unless the settings say no
    if "settings" in book.sheetnames:
        settings_head, settings_rows = _rows(book["settings"])
        given = settings_rows[0][1] if settings_rows else {}
        problems.extend(_language_problems("settings", settings_head))
        if settings_rows:
            where = _("settings sheet, row %(n)s") % {"n": settings_rows[0][0]}
            problems.extend(_nul_problems(where, given))
            settings_bases = _column_bases(settings_head)
            for column, value in given.items():
                if settings_bases.get(column) in ("form_title", "set_form_title"):
                    problem = _too_long(where, column, value, "title")
                    if problem is not None:
                        problems.append(problem)
        collapse_spaces = _pyxform_yes_no(given.get("clean_text_values", "yes"))
        default = given.get("default_language", "")
        if default and default != "default" and language_code(default) is None:
            problems.append(
                _(
                    "settings sheet, default_language '%(language)s': Sayso cannot tell"
                    " which language this is. Write it with the language's code in"
                    " brackets after its name, like 'English (en)', as in the names of"
                    " the columns in that language."
                )
                % {"language": default}
            )
        has_title = any(h.split("::")[0] == "form_title" for h in given)
        for column in given:
            base = column.split("::")[0]
            if base not in KEPT_SETTINGS:
                unused = _("settings sheet: '%(c)s' is not used") % {"c": column}
                not_kept.setdefault(unused, [])
    list_names: set[str] = set()
    options_by_list: dict[str, list[str]] = {}
    # By list, the choices whose names are longer than the builder takes: refused when
    # a question imports the list.
    long_names: dict[str, list[str]] = {}
    if "choices" in book.sheetnames:
        choices_head, choice_rows = _rows(book["choices"])
        problems.extend(_language_problems("choices", choices_head))
        seen_choices: set[tuple[str, str]] = set()
        for number, cells in choice_rows:
            key = (cells.get("list_name", cells.get("list name", "")), cells.get("name", ""))
            where = _("choices sheet, row %(n)s") % {"n": number}
            problems.extend(_nul_problems(where, cells))
            options_by_list.setdefault(key[0], []).append(key[1])
            if "name" in cells:
                problem = _too_long(where, "name", cells["name"], "choice_name")
                if problem is not None:
                    long_names.setdefault(key[0], []).append(problem)
            if key in seen_choices:
                problems.append(
                    _(
                        "choices sheet, row %(n)s: the choice '%(name)s' appears twice in list '%(list)s'."
                    )
                    % {"n": number, "name": key[1], "list": key[0]}
                )
            seen_choices.add(key)
            list_names.add(key[0])
            for shown_name in logic.references_in(*_texts_of(cells)):
                problems.append(
                    _(
                        "choices sheet, row %(n)s: the label shows ${%(name)s}, an answer;"
                        " Sayso cannot show answers in the words of a choice. Take the ${ } out."
                    )
                    % {"n": number, "name": shown_name}
                )
            _note_unkept_columns(_("choices sheet"), cells, number, not_kept)
    names: dict[str, int] = {}
    bases = _column_bases(head)
    if_message_kept: dict[str, list[str]] = {}
    used_lists: dict[str, None] = {}  # the choice lists questions take, in order
    # Whether a question or a group came before: until one does, a note named as in
    # SURVEY_NOTES holds one of the survey's own texts (import_form).
    started = False
    groups: list[tuple[int, str]] = []  # the row and condition of each group left open
    open_groups: list[int] = []  # the rows of the groups begun and not yet ended
    nested: list[str] = []  # groups begun inside another (or after one left open)
    no_lists: list[int] = []  # rows of choice questions, when there is no choices sheet
    # The names of rows refused for their type: a later row's reference to one is not
    # a second problem ("not an earlier question"), the row's own problem says it all.
    refused: set[str] = set()
    for number, cells in survey_rows:
        kind = _select_spelled_as_sayso(" ".join(cells.get("type", "").split()))
        name = cells.get("name", "")
        base = kind.split()[0] if kind else ""
        control = _CONTROL.match(kind)
        if control is not None:
            what = "group" if control["what"] == "group" else "repeat"
            base = f"{control['edge']}_{what}"
        where = _("survey sheet, row %(n)s") % {"n": number}
        problems.extend(_nul_problems(where, cells))
        # The row's texts as pyxform passes them on, to be counted as they are kept.
        sized = {c: _SPACES.sub(" ", v) for c, v in cells.items()} if collapse_spaces else cells
        _note_unkept_columns(_("survey sheet"), cells, number, not_kept)
        appearance = cells.get("appearance", "").strip()
        if appearance not in KEPT_APPEARANCES:
            reason = _("survey sheet, appearance '%(a)s': not used") % {"a": appearance}
            not_kept.setdefault(reason, []).append(number)
        if base == "begin_group":
            if open_groups:
                nested.append(
                    _(
                        "%(where)s: groups inside groups are not supported; use one level of groups as pages."
                    )
                    % {"where": where}
                )
            open_groups.append(number)
            groups.append((number, sized.get("relevant") or sized.get("relevance", "")))
            if name != "meta":  # a group of ODK's metadata, not a page (import_form)
                started = True
                for column, value in sized.items():
                    field_name = _QUESTION_COLUMNS.get(bases.get(column, ""))
                    if field_name in ("label", "relevant"):
                        kind_of_text = "page" if field_name == "label" else "relevant"
                        problem = _too_long(where, column, value, kind_of_text)
                        if problem is not None:
                            problems.append(problem)
            for shown_name in logic.references_in(*_texts_of(cells)):
                problems.append(
                    _(
                        "%(where)s: the group's label shows ${%(name)s}, an answer; Sayso"
                        " shows a group's label as its page's title, which cannot show"
                        " answers. Take the ${ } out."
                    )
                    % {"where": where, "name": shown_name}
                )
            # A group's condition is folded into each of its questions' on import.
            expression = cells.get("relevant", "")
            if expression:
                problem = logic.check_expression(
                    expression, known=[*names, *refused], allow_current=False, what="relevant"
                )
                if problem:
                    problems.append(f"{where}: {problem}")
            for column in UNSUPPORTED_COLUMNS:
                if cells.get(column):
                    problems.append(
                        _("%(where)s: the '%(c)s' column: %(why)s.")
                        % {"where": where, "c": column, "why": UNSUPPORTED_COLUMNS[column]}
                    )
            continue
        if base == "end_group":
            if open_groups:
                open_groups.pop()
                groups.pop()
            continue
        if base in ("begin_repeat", "end_repeat"):
            problems.append(
                _("%(where)s: repeats are not supported: each question is asked once.")
                % {"where": where}
            )
            continue
        if base in PRIVACY_DROPPED or (kind == "calculate" and name == "instanceID"):
            if base in PRIVACY_DROPPED:
                dropped_metadata.append(name or base)
            continue
        if base in UNSUPPORTED_TYPES:
            problems.append(
                _("%(where)s: the question type '%(type)s' is not supported: %(why)s.")
                % {"where": where, "type": kind, "why": UNSUPPORTED_TYPES[base]}
            )
            refused.add(name)
            continue
        if base not in TYPES:
            problems.append(
                _("%(where)s: the question type '%(type)s' is not supported.")
                % {"where": where, "type": kind}
            )
            refused.add(name)
            continue
        if base in ("select_one", "select_multiple", "rank"):
            parts = kind.split()
            if "choices" not in book.sheetnames:
                no_lists.append(number)  # said once, below
            elif len(parts) < 2 or parts[1] not in list_names:
                problems.append(
                    _(
                        "%(where)s: the choice list for '%(type)s' is missing from the choices sheet."
                    )
                    % {"where": where, "type": kind}
                )
            else:
                used_lists.setdefault(parts[1])
            if "or_other" in parts[1:]:
                problems.append(
                    _(
                        "%(where)s: 'or_other' (an 'Other' choice with a box to write in) is"
                        " not supported. Instead, add an 'Other' choice named other to the"
                        " list, and a text question shown only to people who chose it"
                        " (relevant: selected(${%(name)s}, 'other'))."
                    )
                    % {"where": where, "name": name if logic.valid_name(name) else "question"}
                )
            elif len(parts) > 2:
                problems.append(
                    _(
                        "%(where)s: the type '%(type)s' has more after the list's name than"
                        " Sayso reads. Write the type and the list's name only, like"
                        " '%(short)s'."
                    )
                    % {"where": where, "type": kind, "short": " ".join(parts[:2])}
                )
        survey_note = base == "note" and name in SURVEY_NOTES and not started
        if survey_note:
            # The survey's own title, welcome or privacy notice, from its labels.
            if SURVEY_NOTES[name] == "title":
                for column, value in sized.items():
                    if _QUESTION_COLUMNS.get(bases.get(column, "")) == "label":
                        problem = _too_long(where, column, value, "title")
                        if problem is not None:
                            problems.append(problem)
        else:
            started = True
            always, if_kept = _question_text_problems(
                where,
                sized,
                bases,
                base,
                groups[-1] if groups else None,
                options_by_list.get(kind.split()[1], [])
                if base == "select_multiple" and len(kind.split()) > 1
                else None,
            )
            problems.extend(always)
            if if_kept:
                if_message_kept[name] = if_kept
        if not logic.valid_name(name):
            problems.append(
                _(
                    "%(where)s: the name '%(name)s' must start with a letter and use only letters, numbers and _."
                )
                % {"where": where, "name": name}
            )
        elif name in names:
            problems.append(
                _("%(where)s: the name '%(name)s' is already used in row %(other)s.")
                % {"where": where, "name": name, "other": names[name]}
            )
        for column in UNSUPPORTED_COLUMNS:
            if cells.get(column):
                problems.append(
                    _("%(where)s: the '%(c)s' column: %(why)s.")
                    % {"where": where, "c": column, "why": UNSUPPORTED_COLUMNS[column]}
                )
        required = cells.get("required", "")
        if required and required.lower() not in (
            "yes",
            "no",
            "true",
            "false",
            "true()",
            "false()",
            "1",
            "0",
        ):
            problems.append(
                _("%(where)s: 'required' must be yes or no; expressions are not supported.")
                % {"where": where}
            )
        for shown_name in logic.references_in(*_texts_of(cells)):
            if shown_name not in names and shown_name not in refused:
                problems.append(
                    _(
                        "%(where)s: the label or hint shows ${%(name)s}, but no question"
                        " before this row has the name '%(name)s'. Refer only to questions"
                        " asked earlier, by their name."
                    )
                    % {"where": where, "name": shown_name}
                )
        for column, allow_current in (("relevant", False), ("constraint", True)):
            expression = cells.get(column, "")
            if not expression:
                continue
            known = [*names, *refused, name] if allow_current else [*names, *refused]
            problem = logic.check_expression(
                expression, known=known, allow_current=allow_current, what=column
            )
            if problem:
                problems.append(f"{where}: {problem}")
        names[name] = number
    if open_groups:
        # A group left open makes every later group look nested in it: say what is
        # missing, where the group starts, rather than "groups inside groups".
        problems.extend(
            _(
                "survey sheet, row %(n)s: the group that starts here has no end_group row."
                " Add an end_group row after its last question."
            )
            % {"n": row}
            for row in open_groups
        )
    else:
        problems.extend(nested)
    for list_name in used_lists:
        problems.extend(long_names.get(list_name, []))
    if no_lists:
        problems.append(
            _(
                "The 'choices' sheet is missing: the choice questions (survey sheet, %(rows)s)"
                " take their options from it."
            )
            % {"rows": _rows_text(no_lists)}
        )
    if not names and not problems:
        problems.append(_("survey sheet: there are no questions to import."))
    notes = []
    if dropped_metadata:
        notes.append(
            _(
                "Not kept, to protect respondents: the metadata %(names)s (when or on which"
                " device someone answered). Sayso keeps only the date of each response."
            )
            % {"names": ", ".join(dropped_metadata)}
        )
    for reason, numbers in not_kept.items():
        notes.append(f"{reason} ({_rows_text(numbers)})." if numbers else f"{reason}.")
    return Inspection(problems, notes, has_title, if_message_kept)


# ------------------------------------------------------------ texts, as the builder takes them
#
# An import keeps what the builder's forms would let an organiser type into the same
# place (forms.QuestionForm, SectionForm, SurveyForm, and the translations page): a
# text longer than the builder allows is refused, by sheet, row and column, since
# the question could not be saved again without shortening it; direction controls
# are taken out, as the builder and the respondent's answers do (core.text).


def _shown(text: str) -> str:
    """A text as Sayso keeps it, from a form as from the builder (forms.ShownTextField):
    without direction controls, without spaces at its ends."""
    return without_direction_controls(text).strip()


# The survey sheet's columns an import keeps as a question's texts, as pyxform names
# them (lower case), and the builder's field each fills.
_QUESTION_COLUMNS = {
    "label": "label",
    "caption": "label",
    "hint": "hint",
    "required_message": "required_message",
    "requiredmsg": "required_message",
    "jr:requiredmsg": "required_message",
    "constraint_message": "constraint_message",
    "constraining_message": "constraint_message",
    "jr:constraintmsg": "constraint_message",
    "name": "name",
    "relevant": "relevant",
    "relevance": "relevant",
    "constraint": "constraint",
}
# What each kind of text is, for the organiser: "...; a question can have at most 500."
_TOO_LONG = {
    "label": gettext_noop(
        "%(where)s, %(column)s: %(count)s characters; a question can have at most %(max)s."
    ),
    "note": gettext_noop(
        "%(where)s, %(column)s: %(count)s characters; a note can have at most %(max)s."
    ),
    "hint": gettext_noop(
        "%(where)s, %(column)s: %(count)s characters; a hint can have at most %(max)s."
    ),
    "required_message": gettext_noop(
        "%(where)s, %(column)s: %(count)s characters; the message shown when an answer is"
        " missing can have at most %(max)s."
    ),
    "constraint_message": gettext_noop(
        "%(where)s, %(column)s: %(count)s characters; the message shown when an answer is"
        " not accepted can have at most %(max)s."
    ),
    "name": gettext_noop(
        "%(where)s, %(column)s: %(count)s characters; a short name can have at most %(max)s."
    ),
    "relevant": gettext_noop(
        "%(where)s, %(column)s: %(count)s characters; a rule for who is asked (show only"
        " if) can have at most %(max)s."
    ),
    "constraint": gettext_noop(
        "%(where)s, %(column)s: %(count)s characters; a rule the answer must satisfy can"
        " have at most %(max)s."
    ),
    "page": gettext_noop(
        "%(where)s, %(column)s: %(count)s characters; a group is a page in Sayso, and a"
        " page's title can have at most %(max)s."
    ),
    "title": gettext_noop(
        "%(where)s, %(column)s: %(count)s characters; a survey's title can have at most %(max)s."
    ),
    "choice_name": gettext_noop(
        "%(where)s, %(column)s: %(count)s characters; a choice's short name can have at"
        " most %(max)s."
    ),
}


def _limit(kind: str) -> int | None:
    """The most characters the builder takes for a text of `kind` (None: no limit)."""
    from .forms import translation_limit

    if kind == "choice_name":
        return Choice._meta.get_field("name").max_length
    if kind == "title":
        return translation_limit("survey.title")
    if kind == "page":
        return translation_limit("section.0")
    field_name = "label" if kind == "note" else kind
    return translation_limit(f"question.0.{field_name}")


def _too_long(where: str, column: str, text: str, kind: str) -> str | None:
    """Why `text`, from `column` of the row `where`, is refused as longer than the
    builder takes for a text of `kind`; None when it is not."""
    limit = _limit(kind)
    count = len(_shown(text)) if kind in _SHOWN_KINDS else len(text.strip())
    if limit is None or count <= limit:
        return None
    return _(_TOO_LONG[kind]) % {
        "where": where,
        "column": column,
        "count": _count(count),
        "max": _count(limit),
    }


# The kinds of text that people read (direction controls are taken out, so they do not
# count); names and rules are kept as written.
_SHOWN_KINDS = {
    "label",
    "note",
    "hint",
    "required_message",
    "constraint_message",
    "page",
    "title",
}


# pyxform makes each run of spaces in a survey sheet's cell one space (its
# clean_text_values setting, on unless the settings sheet says no).
_SPACES = re.compile(" +")


def _pyxform_yes_no(value: str) -> bool:
    from pyxform.aliases import yes_no

    return bool(yes_no.get(value, True))


def _nul_problems(where: str, cells: dict[str, str]) -> list[str]:
    """A reason to refuse for each cell of a row that holds the null character, which
    no text can keep (core.text)."""
    return [
        _(
            "%(where)s, %(column)s: this holds a character that cannot be kept (the null"
            " character). Delete it and import the file again."
        )
        % {"where": where, "column": column}
        for column, value in cells.items()
        if has_nul(value)
    ]


def _column_bases(head: list[str]) -> dict[str, str]:
    """Each heading's column, as pyxform reads it (lower case, "jr:constraintMsg" whole),
    without its language: "label::Welsh (cy)" is "label"."""
    delimiter = "::" if any("::" in column for column in head) else ":"
    out: dict[str, str] = {}
    for column in head:
        tokens = [t.strip() for t in column.split(delimiter)]
        if delimiter == ":" and tokens[0].lower() == "jr" and len(tokens) > 1:
            tokens = [f"jr:{tokens[1]}", *tokens[2:]]
        if len(tokens) <= 2:
            out[column] = "_".join(tokens[0].split()).lower()
    return out


def _question_text_problems(
    where: str,
    cells: dict[str, str],
    bases: dict[str, str],
    kind: str,
    group: tuple[int, str] | None,
    options: Collection[str] | None,
) -> tuple[list[str], list[str]]:
    """The reasons to refuse a question's row for texts longer than the builder takes:
    those that always hold, and those that hold only if the constraint message is kept
    (a multiple choice question's whose constraint marks options ticked on their own;
    see _exclusive_from). `group` is the row and condition of the group it is in;
    `options` its choices' names."""
    problems: list[str] = []
    if_kept: list[str] = []
    marks_options = False
    for column, value in cells.items():
        field_name = _QUESTION_COLUMNS.get(bases.get(column, ""))
        if field_name is None:
            continue
        text = value
        if field_name == "constraint" and options is not None:
            text, names = split_kept_exclusive(value, options)
            marks_options = bool(names)
        if field_name == "relevant" and group is not None and group[1]:
            # Stored with the group's condition joined to it (import_form).
            joined = f"({group[1]}) and ({value})"
            limit = _limit("relevant")
            if limit is not None and len(joined) > limit >= max(len(group[1]), len(value)):
                problems.append(
                    _(
                        "%(where)s, %(column)s: %(count)s characters with the condition of"
                        " the group it is in (row %(group)s); a rule for who is asked (show"
                        " only if) can have at most %(max)s."
                    )
                    % {
                        "where": where,
                        "column": column,
                        "count": _count(len(joined)),
                        "group": group[0],
                        "max": _count(limit),
                    }
                )
                continue
        problem = _too_long(
            where, column, text, "note" if kind == "note" and field_name == "label" else field_name
        )
        if problem is not None:
            (if_kept if field_name == "constraint_message" else problems).append(problem)
    if not marks_options:
        problems.extend(if_kept)
        if_kept = []
    return problems, if_kept


def _texts_of(cells: dict[str, str]) -> list[str]:
    """A row's labels and hints, in every language ("label::Welsh (cy)")."""
    return [
        value
        for column, value in cells.items()
        if column.split("::")[0].strip() in ("label", "hint") and value
    ]


def _pyxform_dict(data: bytes) -> dict[str, Any]:
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import parse_file_to_json

    with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
        handle.write(data)
        handle.flush()
        try:
            return dict(parse_file_to_json(handle.name))
        except PyXFormError as error:
            raise XLSFormError(
                [_("The form could not be read: %(reason)s") % {"reason": error}]
            ) from None


def _is_required(value: Any) -> bool:
    return str(value).lower() in ("yes", "true", "true()", "1")


def _form_languages(form: dict[str, Any]) -> list[str]:
    """The form's language codes: the declared default first, then in order of use."""
    default = form.get("default_language")
    found: list[str] = [_code_of(default)] if default and default != "default" else []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("label", "hint"):
                value = node.get(key)
                if isinstance(value, dict):
                    for k in value:
                        code = found[0] if k == "default" and found else _code_of(k)
                        if code not in found:
                            found.append(code)
            for child in node.get("children", []) or []:
                walk(child)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(form)
    for choices in (form.get("choices") or {}).values():
        walk(choices)
    return found or ["en"]


def import_xlsform(*, data: bytes, community: Community, actor: Any) -> Survey:
    return import_form(data=data, community=community, actor=actor).survey


def title_from_file_name(file_name: str) -> str:
    """A survey's title from the name of the file it was imported from, for a form with
    no form_title: "bin_collection-2026.xlsx" is "bin collection 2026"."""
    stem = posixpath.basename(str(file_name).replace("\\", "/").replace("\x00", ""))
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    return _shown(" ".join(re.sub(r"[_\-]+", " ", stem).split()))[:200]


def import_form(*, data: bytes, community: Community, actor: Any, file_name: str = "") -> Imported:
    """Create a draft survey from the workbook, with the notes on what it left out.
    Without a form_title, the survey is named after `file_name` (the uploaded file's
    name), else "Imported survey"."""
    data = _form_parts(data)  # pyxform, too, reads only what is within the limits
    inspection = _inspect(data)
    if inspection.problems:
        raise XLSFormError(inspection.problems)
    form = _pyxform_dict(data)
    languages = _form_languages(form)
    main = languages[0]

    def labels_of(value: Any) -> dict[str, str]:
        return _labels(value, main)

    # Without a form_title, pyxform names the form after the (temporary) file.
    title = labels_of(form.get("title")) if inspection.has_title else {}
    untitled = title_from_file_name(file_name) or _("Imported survey")
    with transaction.atomic():
        survey = Survey.objects.create(
            community=community,
            title=(title.get(main) or untitled)[:200],
            languages=languages,
            created_by=actor,
        )
        section_order = 0
        section: Section | None = None

        def new_section(title: dict[str, str]) -> Section:
            nonlocal section_order
            section_order += 1
            return Section.objects.create(survey=survey, order=section_order, title=title)

        def add(child: dict[str, Any], current: Section, condition: str) -> None:
            kind = PYXFORM_TYPES[child["type"]]
            bind = child.get("bind", {})
            appearance = str(child.get("control", {}).get("appearance", ""))
            if kind == Question.Type.SHORT_TEXT and "multiline" in appearance:
                kind = Question.Type.LONG_TEXT
            if kind == Question.Type.SINGLE and "likert" in appearance:
                kind = Question.Type.RATING
            # `integer` and `decimal` are both number questions; an integer one takes
            # whole numbers only, and is written back as `integer` on export.
            whole_number = child["type"] == "integer"
            relevant = bind.get("relevant", "")
            if condition:
                # A group's condition applies to each question in it (Sayso's pages
                # have none of their own).
                relevant = f"({condition}) and ({relevant})" if relevant else condition
            choices = child.get("choices") or form.get("choices", {}).get(
                child.get("list_name", ""), []
            )
            constraint = str(bind.get("constraint", ""))
            constraint_message = labels_of(bind.get("jr:constraintMsg", ""))
            alone: list[str] = []
            if kind == Question.Type.MULTIPLE:
                constraint, alone, constraint_message = _exclusive_from(
                    constraint, constraint_message, choices, labels_of, languages
                )
                if constraint_message and child["name"] in inspection.if_message_kept:
                    # Refused by the inspection's rule, now that the message is kept (the
                    # transaction undoes what was created).
                    raise XLSFormError(inspection.if_message_kept[child["name"]])
            question = Question.objects.create(
                survey=survey,
                section=current,
                order=current.questions.count() + 1,
                name=child["name"],
                type=kind,
                label=labels_of(child.get("label")),
                hint=labels_of(child.get("hint")),
                required=_is_required(bind.get("required", "")),
                required_message=labels_of(bind.get("jr:requiredMsg", "")),
                relevant=relevant,
                constraint=constraint,
                constraint_message=constraint_message,
                whole_number=whole_number,
                is_breakdown=_is_required(child.get(BREAKDOWN_COLUMN, "")),
            )
            Choice.objects.bulk_create(
                Choice(
                    question=question,
                    order=i,
                    name=str(c["name"]),
                    label=labels_of(c.get("label")),
                    exclusive=str(c["name"]) in alone,
                )
                for i, c in enumerate(choices, start=1)
            )

        survey_texts: dict[str, dict[str, str]] = {"title": title} if title else {}
        for child in form.get("children", []):
            if (
                child.get("type") == "note"
                and child.get("name") in SURVEY_NOTES
                and section is None
                and section_order == 0
            ):
                survey_texts[SURVEY_NOTES[child["name"]]] = labels_of(child.get("label"))
                continue
            if child.get("type") == "group":
                if child.get("name") == "meta":
                    continue
                section = new_section(labels_of(child.get("label")))
                condition = str(child.get("bind", {}).get("relevant", ""))
                for inner in child.get("children", []):
                    if inner.get("type") in PYXFORM_TYPES:
                        add(inner, section, condition)
                section = None
            elif child.get("type") in PYXFORM_TYPES:
                if section is None:
                    section = new_section({})
                add(child, section, "")
        survey.texts = {}
        for field, labels in survey_texts.items():
            # Only the main language's text: one in another language translates it,
            # and is not shown in its place (models.pick_label).
            text = labels.get(main, "")
            setattr(survey, field, text[:200] if field == "title" else text)
            for code, text in labels.items():
                if code != main and text:
                    survey.texts.setdefault(code, {})[field] = text
        if not survey.title:
            survey.title = untitled
        survey.save(update_fields=["texts", "title", "welcome", "privacy_notice"])
    return Imported(survey, inspection.notes)


def _exclusive_from(
    constraint: str,
    message: dict[str, str],
    choices: list[dict[str, Any]],
    labels_of: Any,
    languages: list[str],
) -> tuple[str, list[str], dict[str, str]]:
    """A multiple choice question's constraint and constraint message, read back: the
    constraint without the clauses that export_xlsform writes for options ticked on
    their own, the names of those options, and the message without the one the export
    wrote for them (a message of the form's own is kept). Clauses naming something that
    is not an option, or marking every option, stay in the constraint."""
    options = {str(c["name"]): c for c in choices}
    rest, names = split_kept_exclusive(constraint, options)
    if not names:
        return constraint, [], message
    labels = [labels_of(options[n].get("label")) or {languages[0]: n} for n in names]
    written = {code: _plain(exclusive_message(labels, code)) for code in languages}
    if message and all(written.get(code) == _plain(text) for code, text in message.items()):
        message = {}
    return rest, names, message


_SMART_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def _plain(text: str) -> str:
    """`text` as pyxform reads it from a cell: "smart" quotes made plain, spaces single."""
    return " ".join(text.translate(_SMART_QUOTES).split())


REVERSE_TYPES = {
    Question.Type.SINGLE: "select_one",
    Question.Type.RATING: "select_one",
    Question.Type.MULTIPLE: "select_multiple",
    Question.Type.RANKING: "rank",
    Question.Type.NUMBER: "decimal",
    Question.Type.DATE: "date",
    Question.Type.SHORT_TEXT: "text",
    Question.Type.LONG_TEXT: "text",
    Question.Type.CONSENT: "acknowledge",
    Question.Type.NOTE: "note",
}


def _language_header(code: str) -> str:
    """How a language is written in the export's column names: "Welsh (cy)", its name
    and, in brackets, its code (ODK's convention, which pyxform checks and the import
    reads back). A language kept under its name by an older import ("welsh") is
    written with its code; one whose code cannot be told is written as it is kept."""
    from django.utils.translation import get_language_info

    if not logic.is_language_code(code):
        found = language_code(code)
        if found is None:
            return code
        code = found
    try:
        name = get_language_info(code)["name"]
    except KeyError:
        name = code
    return f"{name} ({code})"


def not_carried(survey: Survey) -> list[tuple[str, str]]:
    """The survey's settings that XLSForm has no place for, as (setting, value): the
    export lists them on a sheet of their own so that nothing is lost unsaid."""
    targets = survey.weighting_targets or {}
    return [
        (str(_("Who can answer")), str(survey.get_distribution_display())),
        (
            str(_("One response per signed-in member")),
            str(_("yes") if survey.one_response_per_member else _("no")),
        ),
        (
            str(_("Convenience sample")),
            str(_("yes") if survey.is_convenience_sample else _("no")),
        ),
        (
            str(_("Weighting targets")),
            "; ".join(
                f"{name}: " + ", ".join(f"{c} = {n:g}" for c, n in population.items())
                for name, population in targets.items()
            )
            or str(_("none")),
        ),
        (str(_("Status")), str(survey.get_status_display())),
    ]


NOTES_SHEET = "sayso_not_in_xlsform"


def export_xlsform(survey: Survey) -> bytes:
    """An XLSForm that pyxform converts, and that `import_form` reads back to the same
    survey: texts in every language, logic, required, breakdown questions (in a
    column of Sayso's own, which pyxform passes over), and the translated title (in
    a note, since pyxform cannot convert a translated form_title). What XLSForm has
    no place for is listed on the NOTES_SHEET sheet, which pyxform ignores."""
    from openpyxl import Workbook

    languages = survey.languages or ["en"]
    heads = [_language_header(code) for code in languages]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(
        [
            "type",
            "name",
            *(f"label::{h}" for h in heads),
            *(f"hint::{h}" for h in heads),
            "required",
            *(f"required_message::{h}" for h in heads),
            "relevant",
            "constraint",
            *(f"constraint_message::{h}" for h in heads),
            "appearance",
            BREAKDOWN_COLUMN,
        ]
    )
    choices_sheet = book.create_sheet("choices")
    choices_sheet.append(["list_name", "name", *(f"label::{h}" for h in heads)])

    def texts(labels: dict[str, str], fallback: str = "") -> list[str]:
        # An untranslated text is left empty, not filled with the main language's: a
        # copy would read, on import into Sayso or elsewhere, as a translation someone
        # made. pyxform accepts the gap without a warning (its XForm puts "-" there, so
        # ODK shows a dash in that language until someone translates it); Sayso shows
        # the main language's text.
        main = labels.get(languages[0]) or fallback
        return [main, *(labels.get(code) or "" for code in languages[1:])]

    translated = survey.texts or {}
    for name, field in SURVEY_NOTES.items():
        main_text = getattr(survey, field)
        others = {code: str((translated.get(code) or {}).get(field, "")) for code in languages[1:]}
        # The title is in the settings sheet; a note is only needed for its translations.
        if field == "title" and not any(others.values()):
            continue
        if main_text:
            sheet.append(["note", name, *texts(others | {languages[0]: main_text})])

    for section in survey.sections.prefetch_related("questions__choices"):
        sheet.append(["begin_group", f"section_{section.order}", *texts(section.title)])
        for q in section.questions.all():
            kind = REVERSE_TYPES[Question.Type(q.type)]
            if q.type == Question.Type.NUMBER and q.whole_number:
                kind = "integer"
            if q.has_choices:
                kind = f"{kind} {q.name}_choices"
                for c in q.choices.all():
                    choices_sheet.append([f"{q.name}_choices", c.name, *texts(c.label, c.name)])
            appearance = (
                "multiline"
                if q.type == Question.Type.LONG_TEXT
                else "likert"
                if q.type == Question.Type.RATING
                else ""
            )
            constraint, constraint_message = q.constraint, q.constraint_message
            alone = [c for c in q.choices.all() if c.exclusive]
            if q.type == Question.Type.MULTIPLE and alone:
                constraint = with_exclusive(constraint, [c.name for c in alone])
                if not any((constraint_message or {}).values()):
                    labels = [c.label or {languages[0]: c.name} for c in alone]
                    constraint_message = {
                        code: exclusive_message(labels, code) for code in languages
                    }
            sheet.append(
                [
                    kind,
                    q.name,
                    *texts(q.label, q.name),
                    *texts(q.hint),
                    "yes" if q.required else "",
                    *texts(q.required_message),
                    q.relevant,
                    constraint,
                    *texts(constraint_message),
                    appearance,
                    "yes" if q.is_breakdown else "",
                ]
            )
        sheet.append(["end_group"])
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id", "default_language"])
    settings.append([survey.title, f"sayso_survey_{survey.pk}", heads[0]])
    notes = book.create_sheet(NOTES_SHEET)
    notes.append([str(_("Sayso setting")), str(_("Value in this survey")), str(_("Note"))])
    why = str(
        _(
            "XLSForm has no place for this; it is not in the form. Set it again after"
            " importing into Sayso."
        )
    )
    for setting, value in not_carried(survey):
        notes.append([setting, value, why])
    notes.append(
        [
            str(_("Responses, invitation codes, approved text answers")),
            "",
            str(_("Not part of a form: export responses separately.")),
        ]
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


__all__ = [
    "Imported",
    "Inspection",
    "XLSFormError",
    "check_workbook",
    "export_xlsform",
    "import_form",
    "import_xlsform",
    "inspect_workbook",
    "not_carried",
]


def _note_unkept_columns(
    sheet: str, cells: dict[str, str], number: int, not_kept: dict[str, list[int]]
) -> None:
    """Note the row under each column of the sheet that an import does not keep."""
    for column in cells:
        base = column.split("::")[0].lower()
        if base in NOT_KEPT_COLUMNS:
            reason = _("%(sheet)s, '%(c)s': %(why)s") % {
                "sheet": sheet,
                "c": base,
                "why": NOT_KEPT_COLUMNS[base],
            }
            not_kept.setdefault(reason, []).append(number)
