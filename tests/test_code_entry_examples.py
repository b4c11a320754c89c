"""A survey's code pages and the community's match (review 54, S11): the same "How
many codes?" field, and the same example code where people type one (one said
ABCDE-FGHJK, the other ABCDE-FGH23). Here, as the apps may not import core.forms."""

from __future__ import annotations

from sayso.core.fields import CODE_EXAMPLE, DEFAULT_CODES
from sayso.core.forms import CodeBatchForm
from sayso.deliberation.forms import CodeForm
from sayso.surveys.forms import CodeEntryForm, CodesForm


def test_the_conversation_and_survey_code_pages_give_the_same_example() -> None:
    conversation = str(CodeForm().fields["code"].help_text)
    survey = str(CodeEntryForm().fields["code"].help_text)
    assert CODE_EXAMPLE in conversation
    assert CODE_EXAMPLE in survey


def test_both_code_forms_ask_for_the_number_of_codes_alike() -> None:
    ours, theirs = CodesForm()["size"], CodeBatchForm()["size"]
    assert str(ours) == str(theirs)
    assert 'type="text"' in str(ours)
    assert 'inputmode="numeric"' in str(ours)
    assert (ours.label, ours.help_text, ours.initial) == (
        theirs.label,
        theirs.help_text,
        theirs.initial,
    )
    assert ours.initial == DEFAULT_CODES
    # Both read a count as people type it, and refuse the same things in the same words.
    assert CodesForm(data={"size": "1,200"}).is_valid()
    assert CodeBatchForm(data={"label": "Night shift", "size": "1 200"}).is_valid()
    for typed in ("", "0", "abc", "2,001"):
        assert (
            CodesForm(data={"size": typed}).errors["size"]
            == CodeBatchForm(data={"label": "x", "size": typed}).errors["size"]
        )
