# mypy: disable-error-code="no-untyped-call,arg-type"
"""Citing a result from the weighted results cites what the button's table shows.

The weighted view used to cite the unweighted figures (62 % beside a weighted 50 %),
unmarked. Now its button cites the weighted shares with the counts, marked weighted,
with the questions weighted by and the effective sample size; a weighted result that
cannot be cited as shown (the weighting changed since the page was shown, or shared
beyond the community some weighted figures would be withheld) is refused, and nothing
is cited. A filter's figures are not offered for citing."""

from __future__ import annotations

import html
import re

import pytest

from sayso.core.models import Citation
from sayso.surveys import selectors, services
from sayso.surveys.models import Survey

from .factories import organiser_client, survey_url
from .test_weighting_several import by_name, crowd, question

pytestmark = pytest.mark.django_db

# Shared beyond the community every group needs 10: each cell has 10 or more of each answer.
CITABLE = {("day", "yes"): 30, ("day", "no"): 10, ("night", "yes"): 10, ("night", "no"): 10}


def weighted_by_shift(cells: dict[tuple[str, str], int]) -> Survey:
    survey = crowd(cells)
    services.set_weighting_targets(
        survey=survey, question=question(survey, "shift"), population={"day": 50, "night": 50}
    )
    return Survey.objects.get(pk=survey.pk)


def cite_form(page: str, question_pk: int) -> dict[str, str]:
    """The hidden fields of the question's cite form, as the browser would send them."""
    form = re.search(
        rf'<form method="post" action="[^"]*/{question_pk}/cite/"[^>]*>(.*?)</form>', page, re.S
    )
    assert form is not None, "no cite button"
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1))
    return {name: value for name, value in found if name != "csrfmiddlewaretoken"}


def button_of(page: str, question_pk: int) -> str:
    form = re.search(rf'action="[^"]*/{question_pk}/cite/".*?<button[^>]*>(.*?)<span', page, re.S)
    assert form is not None
    return form.group(1)


def cite_url(survey: Survey, name: str) -> str:
    return survey_url("cite", survey, question=survey.questions.get(name=name).pk)


def listed_citations(page: str) -> str:
    listed = page.split('id="citations"', 1)[1]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", listed)))


def test_the_weighted_view_cites_the_weighted_figures_beside_the_button() -> None:
    survey = weighted_by_shift(CITABLE)
    client = organiser_client(survey)
    disciplined = survey.questions.get(name="disciplined")
    page = client.get(
        survey_url("results", survey), {"weighted": "1", "audience": "published"}
    ).content.decode()
    assert button_of(page, disciplined.pk) == "Cite as evidence, weighted"
    sent = cite_form(page, disciplined.pk)
    assert sent["weighted"] == "1"
    done = client.post(cite_url(survey, "disciplined"), sent)
    assert done.status_code == 302
    assert done["Location"].endswith("?audience=published&weighted=1#citations")
    snapshot = Citation.objects.get().snapshot
    shown = by_name(selectors.results(survey, weighted=True), "disciplined")
    # Day workers yes 3 in 4, night 1 in 2, each shift half the population.
    assert [f["weighted"] for f in snapshot["figures"]] == pytest.approx([0.625, 0.375])
    assert [f["weighted"] for f in snapshot["figures"]] == [r.weighted for r in shown.rows]
    assert [f["weighted_low"] for f in snapshot["figures"]] == [r.weighted_low for r in shown.rows]
    assert [(f["count"], f["percent"]) for f in snapshot["figures"]] == [
        (40, 40 / 60),
        (20, 20 / 60),
    ]
    assert snapshot["weighted"] is True
    assert snapshot["weighted_by"] == ["Which shift do you usually work?"]
    found = selectors.results(survey, audience="published", weighted=True)
    assert found.weighting is not None
    assert snapshot["effective_n"] == round(found.weighting.n_eff)
    assert snapshot["weight_limit"] == 5
    # Listed as weighted, with the weighted share first and the unweighted beside it.
    listed = listed_citations(
        client.get(survey_url("results", survey), {"audience": "published"}).content.decode()
    )
    assert "Weighted" in listed
    assert "by the answers to: “Which shift do you usually work?” · Effective" in listed
    assert f"Effective sample size: {snapshot['effective_n']}." in listed
    row = shown.rows[0]
    assert (
        f"Yes, I have: {row.weighted_percent} weighted (95% interval {row.weighted_interval});"
        " unweighted 67%, 40 people"
    ) in listed


def test_the_unweighted_view_cites_unweighted_figures_unmarked() -> None:
    survey = weighted_by_shift(CITABLE)
    client = organiser_client(survey)
    disciplined = survey.questions.get(name="disciplined")
    page = client.get(survey_url("results", survey), {"audience": "published"}).content.decode()
    assert button_of(page, disciplined.pk) == "Cite as evidence"
    assert cite_form(page, disciplined.pk) == {}
    assert client.post(cite_url(survey, "disciplined")).status_code == 302
    snapshot = Citation.objects.get().snapshot
    assert "weighted" not in snapshot
    assert all("weighted" not in f for f in snapshot["figures"])
    assert "Weighted" not in listed_citations(
        client.get(survey_url("results", survey), {"audience": "published"}).content.decode()
    )


def test_the_same_answers_are_cited_weighted_and_unweighted_while_open() -> None:
    """Both citations count the same people giving each answer: the second is not a
    "few answers apart" comparison, so it is not refused."""
    survey = weighted_by_shift(CITABLE)
    assert survey.status == Survey.Status.OPEN
    client = organiser_client(survey)
    disciplined = survey.questions.get(name="disciplined")
    assert client.post(cite_url(survey, "disciplined")).status_code == 302
    page = client.get(
        survey_url("results", survey), {"weighted": "1", "audience": "published"}
    ).content.decode()
    client.post(cite_url(survey, "disciplined"), cite_form(page, disciplined.pk))
    assert sorted("weighted" in c.snapshot for c in Citation.objects.all()) == [False, True]
    # Cited again, the same weighted figures are said to be cited already.
    again = client.post(
        cite_url(survey, "disciplined"), cite_form(page, disciplined.pk), follow=True
    )
    assert "already cited" in again.content.decode()
    assert Citation.objects.count() == 2


def test_weighted_figures_are_not_cited_once_the_weighting_changed() -> None:
    survey = weighted_by_shift(CITABLE)
    client = organiser_client(survey)
    disciplined = survey.questions.get(name="disciplined")
    page = client.get(
        survey_url("results", survey), {"weighted": "1", "audience": "published"}
    ).content.decode()
    sent = cite_form(page, disciplined.pk)
    services.set_weighting_targets(
        survey=survey, question=question(survey, "shift"), population={"day": 20, "night": 80}
    )
    refused = client.post(cite_url(survey, "disciplined"), sent, follow=True).content.decode()
    assert "the weighting was changed after the page was shown" in refused
    assert not Citation.objects.exists()
    # The limit is part of the weighting too.
    page = client.get(
        survey_url("results", survey), {"weighted": "1", "audience": "published"}
    ).content.decode()
    sent = cite_form(page, disciplined.pk)
    services.set_weight_limit(survey=survey, limit=3)
    client.post(cite_url(survey, "disciplined"), sent)
    assert not Citation.objects.exists()


def test_weighted_figures_withheld_when_shared_are_not_cited_nor_swapped_for_others() -> None:
    """Members' threshold 5: the weighted figures show. Shared beyond the community (10),
    6 night workers per answer are too few to show weighted figures from: the published
    view offers the unweighted figures, and a weighted citation is refused, naming no
    answer, rather than citing the unweighted figures instead."""
    survey = weighted_by_shift(
        {("day", "yes"): 15, ("day", "no"): 15, ("night", "yes"): 6, ("night", "no"): 6}
    )
    client = organiser_client(survey)
    disciplined = survey.questions.get(name="disciplined")
    shown = client.get(survey_url("results", survey), {"weighted": "1", "audience": "published"})
    page = shown.content.decode()
    # The button offers what can be cited: the unweighted figures (the reviewer was
    # offered "Cite as evidence, weighted" in the members' view, which always failed).
    assert button_of(page, disciplined.pk) == "Cite the unweighted figures as evidence"
    # A weighted citation sent anyway is refused, naming no answer.
    forged = {"weighted": "1", "weighting": shown.context["weighting_key"]}
    refused = client.post(cite_url(survey, "disciplined"), forged, follow=True).content.decode()
    assert "These weighted figures cannot be cited" in refused
    message = refused.split("These weighted figures cannot be cited", 1)[1].split("</", 1)[0]
    assert re.findall(r"\d+", message) == ["10"]
    assert not Citation.objects.exists()


def test_a_result_whose_weighted_figures_are_not_all_shown_offers_the_unweighted() -> None:
    """In the weighted view, a question some of whose weighted figures are withheld (3
    night workers said no) has a button that says it cites the unweighted figures, and
    it does, unmarked; the page comes back weighted."""
    survey = weighted_by_shift(
        {("day", "yes"): 30, ("day", "no"): 10, ("night", "yes"): 10, ("night", "no"): 3}
    )
    client = organiser_client(survey)
    found = by_name(selectors.results(survey, weighted=True), "disciplined")
    assert found.weighted
    assert not found.any_hidden
    assert not found.weighted_in_full
    disciplined = survey.questions.get(name="disciplined")
    page = client.get(
        survey_url("results", survey), {"weighted": "1", "audience": "published"}
    ).content.decode()
    assert button_of(page, disciplined.pk) == "Cite the unweighted figures as evidence"
    sent = cite_form(page, disciplined.pk)
    assert "weighted" not in sent
    done = client.post(cite_url(survey, "disciplined"), sent)
    assert done["Location"].endswith("?audience=published&weighted=1#citations")
    snapshot = Citation.objects.get().snapshot
    assert "weighted" not in snapshot
    assert [f["count"] for f in snapshot["figures"]] == [40, 13]


def test_a_filtered_view_offers_no_citation() -> None:
    survey = weighted_by_shift(CITABLE)
    client = organiser_client(survey)
    page = client.get(
        survey_url("results", survey), {"only": "shift:day", "audience": "published"}
    ).content.decode()
    assert "/cite/" not in page
    assert "To cite this result as evidence, show it for everyone" in page
