# mypy: disable-error-code="no-untyped-call,arg-type"
"""XLSForm import: a small .xlsx built to become huge once read (a sheet that says it
spans every column and row, hundreds of thousands of rows, a part that unpacks to far
more than its size) is refused with a plain message that names the sheet and the limit,
creates nothing, and is read in bounded memory; a real form with formatting left far
out still imports.

The files are made here, in memory, at test time: each is small."""

from __future__ import annotations

import contextlib
import html
import io
import tracemalloc
import zipfile
from collections.abc import Iterable, Iterator

import pytest
from django.urls import reverse
from openpyxl import Workbook
from openpyxl.styles import PatternFill

from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in
from sayso.surveys import xlsform
from sayso.surveys.models import Survey

pytestmark = pytest.mark.django_db

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
KINDS = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def workbook(sheets: dict[str, Iterable[bytes]], strings: Iterable[bytes] = ()) -> bytes:
    """An .xlsx written part by part, as a generator of hostile files would: each sheet's
    XML from `sheets` (streamed in, so a large one is never whole in memory here) and,
    when given, a shared-strings part."""
    out = io.BytesIO()
    strings = list(strings)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{KINDS}.worksheet+xml"/>'
        for n in range(1, len(sheets) + 1)
    )
    if strings:
        overrides += (
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{KINDS}.sharedStrings+xml"/>'
        )
    listed = "".join(
        f'<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>'
        for n, name in enumerate(sheets, start=1)
    )
    rels = "".join(
        f'<Relationship Id="rId{n}" Type="{OFFICE}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, len(sheets) + 1)
    )
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as made:
        made.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats'
            '.org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
            f'"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="{KINDS}.'
            f'sheet.main+xml"/>{overrides}</Types>',
        )
        made.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" Type="{OFFICE}/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        made.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN}" xmlns:r="{OFFICE}"><sheets>{listed}</sheets></workbook>',
        )
        made.writestr(
            "xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{PACKAGE}">{rels}</Relationships>'
        )
        for n, chunks in enumerate(sheets.values(), start=1):
            with made.open(f"xl/worksheets/sheet{n}.xml", "w") as part:
                for chunk in chunks:
                    part.write(chunk)
        if strings:
            with made.open("xl/sharedStrings.xml", "w") as part:
                for chunk in strings:
                    part.write(chunk)
    return out.getvalue()


def cell(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def sheet(rows: Iterable[bytes], dimension: str = "") -> Iterator[bytes]:
    yield f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'.encode()
    if dimension:
        yield f'<dimension ref="{dimension}"/>'.encode()
    yield b"<sheetData>"
    yield from rows
    yield b"</sheetData></worksheet>"


def form_rows() -> Iterator[bytes]:
    """A two-question survey sheet: headings, then a note and a text question."""
    yield b'<row r="1">' + cell("A1", "type") + cell("B1", "name") + cell("C1", "label") + b"</row>"
    yield (
        b'<row r="2">' + cell("A2", "note") + cell("B2", "hello") + cell("C2", "Hello") + b"</row>"
    )
    yield (
        b'<row r="3">'
        + cell("A3", "text")
        + cell("B3", "depot")
        + cell("C3", "Which depot?")
        + b"</row>"
    )


def many_question_rows(count: int) -> Iterator[bytes]:
    """The headings, then `count` note rows, each as short as a row can be written
    (a text from the shared strings, no cell references), so that the file stays small."""
    yield b'<row r="1"><c t="s"><v>0</v></c><c t="s"><v>1</v></c></row>'
    for _number in range(count):
        yield b'<row><c t="s"><v>2</v></c><c t="s"><v>3</v></c></row>'


def note_strings() -> Iterator[bytes]:
    yield f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">'.encode()
    yield b"<si><t>type</t></si><si><t>name</t></si><si><t>note</t></si><si><t>n</t></si></sst>"


def organiser_posts(data: bytes) -> tuple[str, int]:
    """An organiser uploads `data` on the import page: the page's text, and how many
    surveys there are afterwards."""
    community = CommunityFactory()
    client = signed_in(OrganiserFactory(community=community).user)
    upload = io.BytesIO(data)
    upload.name = "form.xlsx"
    response = client.post(
        reverse("surveys:import", kwargs={"slug": community.slug}), {"file": upload}
    )
    return html.unescape(response.content.decode()), Survey.objects.count()


def refused(data: bytes) -> list[str]:
    """The problems the import names for `data`; nothing is created."""
    with pytest.raises(xlsform.XLSFormError) as caught:
        xlsform.import_form(data=data, community=CommunityFactory(), actor=None)
    assert Survey.objects.count() == 0
    return caught.value.problems


def peak_mb(data: bytes) -> float:
    """The most memory, in MB, that an attempt to import `data` takes at any moment."""
    community = CommunityFactory()
    tracemalloc.start()
    try:
        with contextlib.suppress(xlsform.XLSFormError):
            xlsform.import_form(data=data, community=community, actor=None)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


# ------------------------------------------------------------------------- refused files


def test_a_sheet_that_says_it_spans_every_column_and_row_is_read_as_what_it_has() -> None:
    """The reviewer's wide-dimension file: a sheet that declares A1:XFD1048576 and has a
    few thousand rows with nothing in them. Before, every row was read padded to 16,384
    columns (hundreds of MB); now the declared size is ignored and only what is there is
    read, and the file is refused for having no questions."""
    empty_rows = (b'<row r="%d"><c r="A%d"/></row>' % (n, n) for n in range(2, 3002))
    rows = [b'<row r="1">' + cell("A1", "type") + cell("B1", "name") + b"</row>", *empty_rows]
    data = workbook({"survey": sheet(rows, dimension="A1:XFD1048576")})
    assert len(data) < 50_000
    assert refused(data) == ["survey sheet: there are no questions to import."]
    assert peak_mb(data) < 20


def test_a_wide_dimension_on_a_real_form_still_imports_its_questions() -> None:
    data = workbook({"survey": sheet(form_rows(), dimension="A1:XFD1048576")})
    survey = xlsform.import_form(data=data, community=CommunityFactory(), actor=None).survey
    assert list(survey.questions.values_list("name", flat=True)) == ["hello", "depot"]


def test_a_sheet_of_200000_questions_is_refused_naming_the_sheet_and_the_limit() -> None:
    data = workbook({"survey": sheet(many_question_rows(200_000))}, note_strings())
    assert len(data) < 1_000_000  # small on disk, and under the 5 MB upload limit
    page, surveys = organiser_posts(data)
    assert surveys == 0
    assert (
        "The survey sheet has more than 5,000 rows of questions or choices; Sayso reads at"
        " most 5,000 per sheet. Is this the right file?"
    ) in page
    assert peak_mb(data) < 30


def test_200000_empty_rows_under_a_form_are_refused_naming_the_sheet_and_the_limit() -> None:
    """Rows with nothing in them still cost something to go through: past 50,000 the
    organiser is told to delete them."""
    empty_rows = (b'<row r="%d"><c r="A%d"/></row>' % (n, n) for n in range(4, 200_004))
    data = workbook({"survey": sheet([*form_rows(), *empty_rows], dimension="A1:XFD1048576")})
    assert len(data) < 1_500_000
    problems = refused(data)
    assert problems == [
        "The survey sheet goes on for more than 50,000 rows, counting empty or formatted"
        " ones; Sayso reads at most 50,000 rows in a sheet. Delete the rows below the form"
        " (or copy the form into a new spreadsheet) and try again."
    ]
    assert peak_mb(data) < 30


def test_a_sheet_that_unpacks_to_60_mb_is_refused_before_it_is_read() -> None:
    """A compressed XML bomb: the sheet's XML is a few dozen KB packed and 60 MB unpacked
    (spaces between two rows, which any XML reader has to go through)."""
    padding = (b" " * (1024 * 1024) for _mb in range(60))
    rows = [*form_rows()]
    data = workbook({"survey": sheet([rows[0], *padding, *rows[1:]])})
    assert len(data) < 200_000
    page, surveys = organiser_posts(data)
    assert surveys == 0
    assert (
        "The survey sheet takes up 62.9 MB once unpacked; Sayso reads at most 20 MB of any"
        " one part of a file. Is this the right file?"
    ) in page
    assert peak_mb(data) < 30


def test_a_row_of_a_million_cells_is_refused() -> None:
    """One row whose cells repeat: openpyxl would hold all of them at once."""
    huge_row = [b'<row r="2">', *(b"<c/>" * 1000 for _n in range(1000)), b"</row>"]
    rows = [*form_rows()]
    data = workbook({"survey": sheet([rows[0], *huge_row])})
    assert refused(data) == [
        "Row 2 of the survey sheet holds more than Sayso reads in a row (at most 16,384"
        " cells). Is this the right file?"
    ]
    assert peak_mb(data) < 30


def test_a_row_numbered_past_the_last_row_excel_has_is_refused() -> None:
    """openpyxl fills in every row up to a row's number: a billion of them, one by one."""
    rows = [*form_rows(), b'<row r="999999999">' + cell("A999999999", "note") + b"</row>"]
    data = workbook({"survey": sheet(rows)})
    assert refused(data) == [
        "The survey sheet has a row 999,999,999, past the last row a spreadsheet can have"
        " (1,048,576). Is this the right file?"
    ]


def test_headings_out_to_the_last_column_are_refused() -> None:
    headings = b"".join(cell(f"{letter}1", "x") for letter in ("A", "B", "XFD"))
    data = workbook({"survey": sheet([b'<row r="1">' + headings + b"</row>"])})
    assert refused(data) == [
        "Row 1 of the survey sheet has headings as far as column XFD (16,384 columns);"
        " Sayso reads at most 500 columns. Delete what is right of the form's headings and"
        " try again."
    ]


def test_entities_in_a_sheet_are_refused_as_not_a_spreadsheet() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    )
    start = f'<worksheet xmlns="{MAIN}"><sheetData>'.encode()
    data = workbook({"survey": [laughs, start, *form_rows(), b"</sheetData></worksheet>"]})
    assert refused(data) == [
        "The file is not an .xlsx spreadsheet. Save it as Excel (.xlsx) and try again."
    ]


def test_a_file_of_thousands_of_parts_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as made:
        for n in range(1_500):
            made.writestr(f"x/{n}", b"")
    assert refused(out.getvalue()) == [
        "The file is made of 1,500 parts; a spreadsheet has a few dozen, and Sayso reads"
        " files of at most 1,000. Is this the right file?"
    ]


def test_formatting_without_end_in_a_sheet_is_refused() -> None:
    """Merged cells and the like are held whole by openpyxl."""
    merged = (b'<mergeCell ref="A%d:B%d"/>' % (n, n) for n in range(10, 100_010))
    tail = [b"<mergeCells>", *merged, b"</mergeCells></worksheet>"]
    data = workbook(
        {
            "survey": [
                f'<worksheet xmlns="{MAIN}"><sheetData>'.encode(),
                *form_rows(),
                b"</sheetData>",
                *tail,
            ]
        }
    )
    assert refused(data) == [
        "The survey sheet holds more formatting and other settings than Sayso reads (at most"
        " 20,000 pieces). Copy the form into a new spreadsheet, save it and try again."
    ]


# ------------------------------------------------------------------------- still imported


def real_form_with_far_formatting() -> bytes:
    """A form as a person saves it from Excel: questions, choices and settings, with a
    stray formatted cell far out (column Z, row 900) and a row of colour to column AZ."""
    book = Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    survey.append(["type", "name", "label::English (en)", "hint::English (en)", "required"])
    survey.append(["select_one shift", "shift", "Which shift do you work?", "", "yes"])
    survey.append(["integer", "years", "Years at the depot", "Whole years", "no"])
    survey.append(["text", "comment", "Anything else?", "", "no"])
    survey["Z900"].fill = PatternFill("solid", fgColor="FFFF00")
    for column in range(1, 53):
        survey.cell(row=40, column=column).fill = PatternFill("solid", fgColor="DDDDDD")
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label::English (en)"])
    for name in ("early", "late", "night"):
        choices.append(["shift", name, name.title()])
    choices["K2000"].fill = PatternFill("solid", fgColor="FFFF00")
    settings = book.create_sheet("settings")
    settings.append(["form_title", "default_language"])
    settings.append(["Depot survey", "English (en)"])
    notes = book.create_sheet("Notes for the team")
    for n in range(1, 6002):  # more rows than a form's sheet may have: it is not read
        notes.append([f"note {n}"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_real_form_with_stray_formatting_far_out_still_imports() -> None:
    data = real_form_with_far_formatting()
    _page, surveys = organiser_posts(data)
    assert surveys == 1
    survey = Survey.objects.get()
    assert survey.title == "Depot survey"
    assert list(survey.questions.values_list("name", flat=True)) == ["shift", "years", "comment"]
    shift = survey.questions.get(name="shift")
    assert list(shift.choices.values_list("name", flat=True)) == ["early", "late", "night"]
