# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""What a browser review of the organiser's pages found: the builder's logic errors
named their field twice, "Add a page" opened "Add a section", the results page's
weighting link was a small target, two choices could read the same, the check page
showed "yes" and 2019-03-02, and reloading a code sheet made a second batch."""

from __future__ import annotations

import re
import time
from typing import Any
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.core import signing
from django.test import Client
from django.urls import reverse

from sayso.core.models import InvitationCode, InvitationCodeBatch
from sayso.core.selectors import SHEET_MAX_AGE
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in
from sayso.surveys import services
from sayso.surveys.forms import parse_choices
from sayso.surveys.models import Question, Section, Survey

from .factories import make_survey
from .factories import organiser_client as organiser
from .factories import survey_url as url

pytestmark = pytest.mark.django_db

CODE = re.compile(r"<code>([A-Z0-9-]+)</code>")


def state(survey: Survey) -> list[tuple[Any, ...]]:
    """Every question of the survey with its logic and choices."""
    return [
        (q.pk, q.name, q.relevant, q.constraint, [(c.name, c.label) for c in q.choices.all()])
        for q in Question.objects.filter(survey=survey).prefetch_related("choices")
    ]


def summary_links(html: str) -> list[str]:
    """The texts of the error summary's links."""
    box = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert box is not None, "no error summary"
    return [
        re.sub(r"\s+", " ", t).strip()
        for t in re.findall(r"<a [^>]*>(.*?)</a>", box.group(0), re.S)
    ]


# --------------------------------------------------------------------------- 1. prefix once


@pytest.mark.parametrize(
    ("field", "typed", "summary", "beside"),
    [
        (
            "relevant",
            "${shift} = 'nigth'",
            "Show only if: &#x27;nigth&#x27; is not a choice of ${shift}. Use one of its short"
            " names: day, night.",
            "'nigth' is not a choice of ${shift}. Use one of its short names: day, night.",
        ),
        (
            "constraint",
            ". > ",
            "Answer must satisfy: ",
            None,
        ),
        (
            "relevant",
            "${nothere} = 'x'",
            "Show only if refers to ${nothere}, which is not an earlier question.",
            "Show only if refers to ${nothere}, which is not an earlier question.",
        ),
    ],
)
def test_a_logic_error_names_its_field_once(
    field: str, typed: str, summary: str, beside: str | None
) -> None:
    survey = make_survey(CommunityFactory())
    client = organiser(survey)
    before = state(survey)
    data = {"label": "Late?", "name": "late", "type": "number", field: typed}
    page = client.post(
        url("question-create", survey, section=survey.sections.get(order=2).pk), data
    )
    assert page.status_code == 200
    links = summary_links(page.content.decode())
    assert len(links) == 1
    assert links[0].startswith(summary)
    label = "Show only if" if field == "relevant" else "Answer must satisfy"
    assert links[0].count(label) == 1, links[0]
    errors = page.context["form"].errors[field]
    assert len(errors) == 1
    assert errors[0].count(label) <= 1
    if beside is not None:
        assert errors[0] == beside
    assert state(survey) == before


def test_the_summary_still_names_a_field_its_message_does_not() -> None:
    survey = make_survey(CommunityFactory())
    page = organiser(survey).post(
        url("question-create", survey, section=survey.sections.get(order=1).pk),
        {"label": "Late?", "name": "2late", "type": "number"},
    )
    assert summary_links(page.content.decode())[0].startswith("Short name: ")


# --------------------------------------------------------------------------- 2. pages


def test_adding_a_page_says_page_throughout() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser(survey)
    detail = client.get(url("detail", survey)).content.decode()
    assert f'href="{url("section-create", survey)}">Add a page</a>' in detail
    html = client.get(url("section-create", survey)).content.decode()
    assert "<h1>Add a page</h1>" in html
    assert '<label for="id_title">Page title:</label>' in html
    assert '<button type="submit" class="button">Add page</button>' in html
    # What is read or shown, not the form's address (.../sections/new/).
    shown = re.sub(r' action="[^"]*"', "", html.split("<main", 1)[1])
    assert "ection" not in re.sub(r"<(section|/section)[^>]*>", "", shown)
    response = client.post(url("section-create", survey), {"title": "Afterwards"})
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Page added."]
    assert Section.objects.filter(survey=survey).count() == 3


# --------------------------------------------------------------------------- 7. target size


def test_the_weighting_link_is_a_button_sized_target() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    html = organiser(survey).get(url("results", survey)).content.decode()
    link = re.search(r'<a [^>]*href="' + re.escape(url("weighting", survey)) + '"[^>]*>', html)
    assert link is not None
    assert 'class="button button--secondary"' in link.group(0)


# --------------------------------------------------------------------------- 8. choices


@pytest.mark.parametrize(
    "typed",
    [
        "Day shift\nNight shift\nDay shift",
        "day = Day shift\nnight = Night shift\nlate =   day  SHIFT ",
    ],
)
def test_two_choices_with_the_same_label_are_refused_beside_the_choices(typed: str) -> None:
    survey = make_survey(CommunityFactory())
    client = organiser(survey)
    shift = Question.objects.get(survey=survey, name="shift")
    before = state(survey)
    data = {"label": "Shift", "name": "shift", "type": "single", "choices": typed}
    page = client.post(url("question-edit", survey, question=shift.pk), data)
    assert page.status_code == 200
    label = typed.splitlines()[2].split("=")[-1].strip()
    assert page.context["form"].errors["choices"] == [
        f"Choice line 3: '{label}' is already a choice. Give each choice a different label."
    ]
    assert state(survey) == before


def test_choices_that_read_differently_are_still_named_by_their_place() -> None:
    assert parse_choices("Day shift\nNight shift\nDay shifts") == [
        ("1", "Day shift"),
        ("2", "Night shift"),
        ("3", "Day shifts"),
    ]


def test_the_choices_help_says_what_a_name_is_for() -> None:
    survey = make_survey(CommunityFactory())
    html = (
        organiser(survey)
        .get(url("question-create", survey, section=survey.sections.get(order=1).pk))
        .content.decode()
    )
    assert (
        "Write &#x27;name = label&#x27;, like &#x27;night = Night shift&#x27;, to use the name"
        " in logic, like ${shift} = &#x27;night&#x27;. A choice without a name is named by its"
        " place: 1, 2, 3."
    ) in html


# --------------------------------------------------------------------------- 9. check page


def _check_page(draft: dict[str, Any]) -> str:
    survey = Survey.objects.create(
        community=CommunityFactory(),
        title="Meters",
        languages=["en"],
        status=Survey.Status.OPEN,
    )
    page = Section.objects.create(survey=survey, order=1, title={"en": "You"})
    for order, (name, kind) in enumerate(
        [("installed", Question.Type.DATE), ("agree", Question.Type.CONSENT)], start=1
    ):
        Question.objects.create(
            survey=survey, section=page, order=order, name=name, type=kind, label={"en": name}
        )
    response, raw = services.start_response(survey=survey, language="en")
    services.save_page(response=response, answers=draft, page=1)
    html = Client().get(reverse("surveys_public:check", kwargs={"token": raw})).content.decode()
    response.refresh_from_db()
    assert response.draft == draft  # shown in words, kept as given
    return html


def answers_shown(html: str) -> dict[str, str]:
    pairs = re.findall(r"<dt[^>]*>(.*?)</dt>\s*<dd>(.*?) <a ", html, re.S)
    # Each answer is isolated in a <bdi> (its own direction): the words inside it.
    return {label: re.sub(r"</?bdi[^>]*>", "", shown) for label, shown in pairs}


def test_the_check_page_shows_consent_and_dates_in_words() -> None:
    html = _check_page({"installed": "2019-03-02", "agree": "yes"})
    assert answers_shown(html) == {"installed": "2 March 2019", "agree": "Agreed"}
    assert "2019-03-02" not in html


def test_the_check_page_says_an_unticked_consent_was_not_agreed() -> None:
    html = _check_page({"installed": None, "agree": None})
    assert answers_shown(html) == {"installed": "Not answered", "agree": "Did not agree"}


# --------------------------------------------------------------------------- 10. code sheet


def test_reloading_the_code_sheet_shows_the_same_codes_and_makes_no_more() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser(survey)
    made = client.post(url("codes", survey), {"size": 3})
    batch = InvitationCodeBatch.objects.get()
    assert made.status_code == 302
    assert made["Location"] == f"{url('code-sheet', survey)}?batch={batch.pk}"
    assert not CODE.findall(made.content.decode())
    first = client.get(made["Location"])
    again = client.get(made["Location"])
    for shown in (first, again):
        assert shown.status_code == 200
        assert shown["Cache-Control"] == "private, no-store"
    codes = CODE.findall(first.content.decode())
    assert len(codes) == 3
    assert CODE.findall(again.content.decode()) == codes
    assert InvitationCodeBatch.objects.count() == 1
    assert InvitationCode.objects.count() == 3
    assert {InvitationCode.digest_of(c) for c in codes} == set(
        InvitationCode.objects.values_list("digest", flat=True)
    )


def test_a_kept_code_sheet_is_shown_only_to_the_organiser_who_made_it() -> None:
    survey = make_survey(CommunityFactory())
    other = make_survey(survey.community)
    client = organiser(survey)
    sheet = client.post(url("codes", survey), {"size": 2})["Location"]
    batch = InvitationCodeBatch.objects.get()
    # Another organiser of the same community, an organiser of another community, and
    # the same organiser asking for it under another survey: no codes.
    colleague = organiser(survey)
    outsider = signed_in(OrganiserFactory(community=CommunityFactory()).user)
    hidden = outsider.get(sheet)
    assert hidden.status_code == 404  # not even told the community exists
    assert not CODE.findall(hidden.content.decode())
    for who, asked in (
        (colleague, sheet),
        (client, f"{url('code-sheet', other)}?batch={batch.pk}"),
    ):
        refused = who.get(asked)
        assert refused.status_code == 302
        assert refused["Location"] in (url("codes", survey), url("codes", other))
        assert not CODE.findall(refused.content.decode())
        assert any("can no longer be shown" in str(m) for m in get_messages(refused.wsgi_request))
    assert InvitationCodeBatch.objects.count() == 1


def test_a_kept_code_sheet_ends_after_a_day() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser(survey)
    # Made a day and a minute ago (the sheet's signature holds the time it was made).
    with mock.patch("django.core.signing.time.time", return_value=time.time() - SHEET_MAX_AGE - 60):
        sheet = client.post(url("codes", survey), {"size": 2})["Location"]
    late = client.get(sheet)
    assert late.status_code == 302
    assert late["Location"] == url("codes", survey)
    assert not CODE.findall(late.content.decode())
    assert client.session["sayso_code_sheets"] == {}  # dropped, not kept


def test_a_kept_code_sheet_gives_the_database_no_code() -> None:
    """The codes wait in the session encrypted, the key in the organiser's browser only:
    the session's row opens to no code, and without the browser's key nothing shows."""
    survey = make_survey(CommunityFactory())
    client = organiser(survey)
    made = client.post(url("codes", survey), {"size": 3})
    key = made.cookies["sayso_sheet_key"]
    assert key["httponly"]
    assert key["max-age"] == SHEET_MAX_AGE
    codes = CODE.findall(client.get(made["Location"]).content.decode())
    assert len(codes) == 3
    row = Session.objects.get(session_key=client.session.session_key)
    kept = row.get_decoded()["sayso_code_sheets"]
    assert len(kept) == 1
    for sealed in kept.values():
        assert not any(code in sealed for code in codes)
        with pytest.raises(signing.BadSignature):
            signing.loads(sealed, salt="sayso.core.code-sheet")
    del client.cookies["sayso_sheet_key"]
    without_key = client.get(made["Location"])
    assert without_key.status_code == 302
    assert not CODE.findall(without_key.content.decode())
    assert InvitationCodeBatch.objects.count() == 1


def test_the_sheet_address_without_a_batch_shows_the_codes_page() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser(survey)
    page = client.get(url("code-sheet", survey))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Invitation codes</h1>" in html
    assert f'<form method="post" action="{url("codes", survey)}"' in html
    assert InvitationCodeBatch.objects.count() == 0


def test_a_large_sheet_opened_again_still_pages_through_every_code() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser(survey)
    sheet = client.get(client.post(url("codes", survey), {"size": 130})["Location"])
    html = sheet.content.decode()
    assert "Codes 1 to 120 of 130 (page 1 of 2)." in html
    seen = CODE.findall(html)
    token = re.search(r'name="sheet" value="([^"]+)"', html)
    assert token is not None
    second = client.post(url("code-sheet", survey), {"sheet": token.group(1), "page": 2})
    seen += CODE.findall(second.content.decode())
    assert len(set(seen)) == 130
    batch = InvitationCodeBatch.objects.get()
    assert (
        CODE.findall(
            client.get(f"{url('code-sheet', survey)}?batch={batch.pk}&page=2").content.decode()
        )
        == seen[120:]
    )
