# mypy: disable-error-code="no-untyped-call,arg-type"
"""Builders for surveys used across the tests."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from sayso.core.models import Community
from sayso.core.tests.factories import (
    CommunityFactory,
    MembershipFactory,
    OrganiserFactory,
    signed_in,
)
from sayso.surveys import services
from sayso.surveys.models import Choice, Question, Response, Section, Survey


def organiser_client(survey: Survey) -> Client:
    """A test client signed in as a new organiser of the survey's community."""
    return signed_in(OrganiserFactory(community=survey.community).user)


def member_client(survey: Survey) -> Client:
    """A test client signed in as a new member of the survey's community."""
    return signed_in(MembershipFactory(community=survey.community).user)


def survey_url(name: str, survey: Survey, **kwargs: Any) -> str:
    """The URL of one of the survey's organiser pages (`surveys:<name>`)."""
    return reverse(
        f"surveys:{name}", kwargs={"slug": survey.community.slug, "pk": survey.pk, **kwargs}
    )


def make_survey(community: Community, **fields: Any) -> Survey:
    """A two-page survey: shift (breakdown), disciplined, worries (multi), age, story."""
    survey = Survey.objects.create(
        community=community, title="Scanner survey", languages=["en"], **fields
    )
    first = Section.objects.create(survey=survey, order=1, title={"en": "About you"})
    second = Section.objects.create(survey=survey, order=2, title={"en": "Experience"})

    def q(
        section: Section,
        order: int,
        name: str,
        kind: str,
        choices: Sequence[str] = (),
        **extra: Any,
    ) -> Question:
        question = Question.objects.create(
            survey=survey,
            section=section,
            order=order,
            name=name,
            type=kind,
            label={"en": name.title()},
            **extra,
        )
        for i, c in enumerate(choices, 1):
            Choice.objects.create(question=question, order=i, name=c, label={"en": c.title()})
        return question

    q(first, 1, "shift", Question.Type.SINGLE, ["day", "night"], required=True, is_breakdown=True)
    q(
        first,
        2,
        "age",
        Question.Type.NUMBER,
        constraint=". >= 16 and . <= 80",
        constraint_message={"en": "Give an age from 16 to 80."},
    )
    q(second, 1, "disciplined", Question.Type.SINGLE, ["yes", "no"], required=True)
    q(second, 2, "worries", Question.Type.MULTIPLE, ["rates", "cameras", "sharing"])
    q(second, 3, "story", Question.Type.LONG_TEXT, relevant="${disciplined} = 'yes'")
    return survey


def open_survey(threshold: int = 5) -> Survey:
    """make_survey's survey, open for answers, in a new community whose small-group
    threshold is `threshold`."""
    return make_survey(CommunityFactory(small_group_threshold=threshold), status=Survey.Status.OPEN)


def answer(survey: Survey, **values: Any) -> Response:
    """A response sent with `values` (question name -> answer) on page 1."""
    response, _raw = services.start_response(survey=survey, language="en")
    services.save_page(response=response, answers=values, page=1)
    assert services.submit_response(response=response) == {}
    return response


def close(survey: Survey) -> Survey:
    """Close the survey once its answers are in: members read an open survey's figures
    only when it closes (selectors.withheld_because)."""
    return services.set_status(survey=survey, status=Survey.Status.CLOSED, actor=None)


def results_section(html: str, survey: Survey, name: str) -> str:
    """The part of a results page about the question named `name`."""
    pk = survey.questions.get(name=name).pk
    return html.split(f'id="q-{pk}"', 1)[1].split("</section>", 1)[0]


def start_answering(survey: Survey, language: str) -> tuple[Client, str]:
    """A respondent's browser that opened the survey's link (the survey opened for
    answers first) and chose `language` on its start page, and their first page's URL."""
    if survey.status != Survey.Status.OPEN:
        survey.status = Survey.Status.OPEN
        survey.save(update_fields=["status"])
    client = Client()
    started = client.post(
        reverse("surveys_public:start", kwargs={"link": survey.link_token}),
        {"language": language},
    )
    assert started.status_code == 302
    return client, started["Location"]


def first_page(survey: Survey, language: str) -> str:
    """The survey's first page, as a respondent who chose `language` reads it."""
    client, url = start_answering(survey, language)
    return client.get(url).content.decode()


def xlsform_bytes(
    survey: Sequence[Sequence[Any]],
    choices: Sequence[Sequence[Any]] | None = None,
    settings: dict[str, str] | None = None,
) -> bytes:
    """An XLSForm workbook: its survey sheet's rows (the first, the column heads), its
    choices sheet's likewise when given, and a settings sheet of one row."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    for row in survey:
        sheet.append(list(row))
    if choices is not None:
        listed = book.create_sheet("choices")
        for row in choices:
            listed.append(list(row))
    if settings is not None:
        extra = book.create_sheet("settings")
        extra.append(list(settings))
        extra.append(list(settings.values()))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def results_in_views(
    client: Client, survey: Survey, question: str, views: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """One question's results (selectors.QuestionResult) as the results page shows
    them to `client` in each named view (its query: a filter, a breakdown)."""
    url = survey_url("results", survey)
    out = {}
    for name, query in views.items():
        page = client.get(url, query)
        assert page.status_code == 200
        results = page.context["results"]
        assert not results.refusal, results.refusal
        out[name] = next(r for r in results.questions if r.question.name == question)
    return out


def start_with_code_at_once(survey: Survey, code: str, attempts: int = 4) -> list[str]:
    """`attempts` browsers starting the survey with the same invitation code at the same
    moment (threads released by one barrier): what each was told, "ok" or "refused"
    (or the unexpected error). Needs a transactional test database."""
    import threading

    from django.db import close_old_connections

    from sayso.core.services import ServiceError

    outcomes: list[str] = []
    barrier = threading.Barrier(attempts)

    def attempt() -> None:
        try:
            barrier.wait()
            services.start_response(
                survey=Survey.objects.get(pk=survey.pk), language="en", code=code
            )
            outcomes.append("ok")
        except ServiceError:
            outcomes.append("refused")
        except Exception as error:
            outcomes.append(f"error {error}")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def survey_with_extra_question(kind: str, name: str, label: str) -> Survey:
    """open_survey's survey (threshold 5), with one more question (`kind`, `name`) at
    the end of its second page."""
    survey = open_survey()
    Question.objects.create(
        survey=survey,
        section=survey.sections.get(order=2),
        order=9,
        name=name,
        type=kind,
        label={"en": label},
    )
    return survey


def start_order(survey: Survey) -> dict[int, int]:
    """Each response's id in exports (its random export_key) -> its place in the order
    the responses were started (its primary key). Exports come in random order, so a
    test that answered in a known order sorts their rows by this to check them."""
    return dict(Response.objects.filter(survey=survey).values_list("export_key", "pk"))


def in_start_order(survey: Survey, rows: list[Any], column: Any = 0) -> list[Any]:
    """Export rows sorted back into start order: lists of values or of spreadsheet
    cells, or dicts (then `column` is "response_id")."""
    order = start_order(survey)

    def started(row: Any) -> int:
        cell = row[column]
        return order[int(getattr(cell, "value", cell))]

    return sorted(rows, key=started)
