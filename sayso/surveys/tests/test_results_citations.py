# mypy: disable-error-code="no-untyped-call,arg-type"
"""The "Cited as evidence" list on a survey's results page shows the figures each
citation froze (shares, intervals, people, the date of the last answer counted), in the
words of the results tables, and says when one of them is hidden."""

from __future__ import annotations

import datetime
import html
import re

import pytest
from django.urls import reverse

from sayso.core.models import Citation
from sayso.core.services import cite
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in
from sayso.surveys import services
from sayso.surveys.models import Survey

from .factories import close, make_survey
from .test_results import answer

pytestmark = pytest.mark.django_db


def _cited(page: str) -> str:
    """The "Cited as evidence" list, its markup and spaces flattened."""
    listed = page.split('id="citations"', 1)[1].split("</ul></li></ul>", 1)[0]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", listed)))


def _table_row(page: str, label: str) -> list[str]:
    """A results table's row as it reads: people, per cent, interval."""
    found = re.search(rf'<tr><th scope="row">{label}</th>(.*?)</tr>', page, re.S)
    assert found is not None, label
    return re.findall(r"<td>(.*?)</td>", found.group(1))


def test_a_cited_result_lists_the_figures_it_froze() -> None:
    community = CommunityFactory(small_group_threshold=2)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for worked in ["day"] * 15 + ["night"] * 10:  # 10 or more each: citable
        answer(survey, shift=worked, disciplined="no")
    close(survey)
    client = signed_in(OrganiserFactory(community=community).user)
    shift = survey.questions.get(name="shift")
    cite_url = reverse(
        "surveys:cite", kwargs={"slug": community.slug, "pk": survey.pk, "question": shift.pk}
    )
    assert client.post(cite_url).status_code == 302
    citation = Citation.objects.get()
    url = reverse("surveys:results", kwargs={"slug": community.slug, "pk": survey.pk})
    page = client.get(url, {"audience": "published"}).content.decode()
    listed = _cited(page)
    assert "“Scanner survey: Shift” — 25 people answered" in listed
    # The day of the last answer, in words as the "cited on" date beside it.
    last = datetime.date.fromisoformat(citation.snapshot["date"])
    assert f"answers up to {last.day} {last:%b %Y}" in listed
    # Each figure as the table above says it: 60 % of 25, its interval in whole per cents.
    for label, people, share in (("Day", 15, "60%"), ("Night", 10, "40%")):
        count, percent, interval = _table_row(page, label)
        assert (count, percent) == (str(people), share)
        assert f"{label}: {share}, {people} people (95% interval {interval})" in listed
    assert "None" not in listed


def test_a_hidden_figure_in_a_citation_says_so() -> None:
    """A citation that kept a figure as hidden (None) says "hidden", never "None%"."""
    community = CommunityFactory(small_group_threshold=2)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for worked in ["day"] * 12:
        answer(survey, shift=worked, disciplined="no")
    shift = survey.questions.get(name="shift")
    cite(
        community=community,
        source=shift,
        evidence_type=services.EVIDENCE_RESULT,
        snapshot={
            "title": "Scanner survey: Shift",
            "question": "shift",
            "n": 12,
            "date": "None",
            "figures": [
                {"option": "Day", "count": 11, "percent": 11 / 12, "ci_low": 0.65, "ci_high": 0.99},
                {
                    "option": "Night",
                    "count": None,
                    "percent": None,
                    "ci_low": None,
                    "ci_high": None,
                },
                {
                    "option": "Evening",
                    "count": 1,
                    "percent": 1 / 12,
                    "ci_low": None,
                    "ci_high": None,
                },
            ],
            "threshold": 2,
        },
        actor=None,
    )
    client = signed_in(OrganiserFactory(community=community).user)
    url = reverse("surveys:results", kwargs={"slug": community.slug, "pk": survey.pk})
    listed = _cited(client.get(url).content.decode())
    assert "Day: 92%, 11 people (95% interval 65 to 99%)" in listed
    assert "Night: hidden (small group)" in listed
    # No interval kept: none shown, and no empty brackets.
    assert "Evening: 8%, 1 person" in listed
    assert "Evening: 8%, 1 person (" not in listed
    assert "None" not in listed
    assert "answers up to" not in listed
