"""Writes sayso/static/surveys/example-xlsform.xlsx, the example the import page offers.

Run it after changing the rows below; sayso/surveys/tests/test_example_xlsform.py checks
that the committed file imports cleanly and matches these rows."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

TARGET = Path(__file__).resolve().parent.parent / "sayso/static/surveys/example-xlsform.xlsx"

SURVEY = [
    ("type", "name", "label", "hint", "required", "relevant", "constraint", "constraint_message"),
    ("begin_group", "about", "About you", "", "", "", "", ""),
    ("select_one shift", "shift", "Which shift do you usually work?", "", "yes", "", "", ""),
    (
        "integer",
        "years",
        "How many years have you worked here?",
        "Round to whole years.",
        "",
        "",
        ". >= 0 and . <= 60",
        "Enter a number of years from 0 to 60.",
    ),
    ("end_group", "", "", "", "", "", "", ""),
    ("begin_group", "experience", "Your experience", "", "", "", "", ""),
    (
        "select_one yes_no",
        "disciplined",
        "Have you been disciplined using scanner data?",
        "",
        "yes",
        "",
        "",
        "",
    ),
    (
        "select_multiple worries",
        "worries",
        "What worries you about the scanner data?",
        "Tick all that apply.",
        "",
        "",
        "",
        "",
    ),
    (
        "text",
        "story",
        "What happened?",
        "Leave out names, yours included.",
        "",
        "${disciplined} = 'yes'",
        "",
        "",
    ),
    ("end_group", "", "", "", "", "", "", ""),
]
CHOICES = [
    ("list_name", "name", "label"),
    ("shift", "day", "Days"),
    ("shift", "night", "Nights"),
    ("yes_no", "yes", "Yes"),
    ("yes_no", "no", "No"),
    ("worries", "rates", "Pick-rate rankings"),
    ("worries", "cameras", "Idle-time cameras"),
    ("worries", "sharing", "Sharing with other companies"),
]
SETTINGS = [("form_title", "form_id"), ("Scanner data survey (example)", "scanner_example")]


def build() -> Workbook:
    book = Workbook()
    sheets = (("survey", SURVEY), ("choices", CHOICES), ("settings", SETTINGS))
    first = book.active
    assert first is not None
    book.remove(first)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    return book


if __name__ == "__main__":
    book = build()
    # A fixed date so that writing it again gives the same bytes.
    import datetime as dt

    book.properties.created = book.properties.modified = dt.datetime(2026, 12, 1)
    book.save(TARGET)
    print(f"wrote {TARGET}")
