# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""A rule (constraint) without a message: the builder saves it, and respondents read
the general message the respondent page has always shown for such a rule.

Before, an imported XLSForm question with a constraint and no constraint_message
(common in Kobo forms) could not be saved unchanged on its edit page: the builder
asked for a message the import had rightly accepted without one."""

from __future__ import annotations

import html
import io
import re

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in
from sayso.surveys import logic, services, xlsform
from sayso.surveys.forms import question_initial
from sayso.surveys.models import Answer, Question, Response, Survey

pytestmark = pytest.mark.django_db

DEFAULT = "This answer is not accepted. Check it and try again."


def kobo_form() -> bytes:
    """A form as Kobo writes many: a rule on the age, no message for it."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(["type", "name", "label", "constraint"])
    sheet.append(["integer", "age", "Your age", ". >= 16 and . <= 80"])
    book.create_sheet("choices").append(["list_name", "name", "label"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def imported() -> tuple[Survey, Question]:
    survey = xlsform.import_form(data=kobo_form(), community=CommunityFactory(), actor=None).survey
    age = survey.questions.get(name="age")
    assert age.constraint == ". >= 16 and . <= 80"
    assert not any(str(t).strip() for t in (age.constraint_message or {}).values())
    return survey, age


def edit_url(survey: Survey, question: Question) -> str:
    return reverse(
        "surveys:question-edit",
        kwargs={"slug": survey.community.slug, "pk": survey.pk, "question": question.pk},
    )


def organiser(survey: Survey) -> Client:
    return signed_in(OrganiserFactory(community=survey.community).user)


def test_the_default_is_the_text_the_respondent_page_shows() -> None:
    assert str(logic.RULE_NOT_FOLLOWED) == DEFAULT


def test_an_imported_rule_without_a_message_saves_unchanged_on_its_edit_page() -> None:
    survey, age = imported()
    client = organiser(survey)
    url = edit_url(survey, age)
    page = client.get(url).content.decode()
    # The help text says what people read when the message is left blank.
    assert "Left blank, they read the general message" in html.unescape(page)
    assert DEFAULT in html.unescape(page)
    data = {k: v for k, v in question_initial(age, "en").items() if v not in (False, None)}
    assert data["constraint"]
    assert not data.get("constraint_message")
    saved = client.post(url, data)
    assert saved.status_code == 302, saved.context["form"].errors
    age.refresh_from_db()
    assert age.constraint == ". >= 16 and . <= 80"
    assert not any(str(t).strip() for t in (age.constraint_message or {}).values())


def test_a_new_rule_may_be_left_without_a_message_in_the_builder() -> None:
    survey, age = imported()
    client = organiser(survey)
    saved = client.post(
        edit_url(survey, age),
        {
            "label": "Your age",
            "name": "age",
            "type": Question.Type.NUMBER,
            "constraint": ". >= 18",
            "constraint_message": "   ",
        },
    )
    assert saved.status_code == 302, saved.context["form"].errors
    age.refresh_from_db()
    assert age.constraint == ". >= 18"
    assert not any(str(t).strip() for t in (age.constraint_message or {}).values())


def test_the_respondent_reads_the_default_when_the_rule_is_broken() -> None:
    survey, age = imported()
    client = organiser(survey)
    data = {k: v for k, v in question_initial(age, "en").items() if v not in (False, None)}
    assert client.post(edit_url(survey, age), data).status_code == 302
    services.set_status(survey=survey, status=Survey.Status.OPEN, actor=None)
    respondent = Client()
    first = str(
        respondent.post(reverse("surveys_public:start", kwargs={"link": survey.link_token}))[
            "Location"
        ]
    )
    refused = respondent.post(first, {"q_age": "12"})
    assert refused.status_code == 200
    assert DEFAULT in html.unescape(refused.content.decode())
    # Nothing was kept from the refused page.
    assert Answer.objects.filter(survey=survey).count() == 0
    # An answer that follows the rule goes through.
    respondent.post(first, {"q_age": "30"})
    done = respondent.post(re.sub(r"/p/0/$", "/check/", first))
    assert done.status_code == 302
    assert Response.objects.get(survey=survey).status == Response.Status.COMPLETE
    assert list(Answer.objects.filter(survey=survey).values_list("number", flat=True)) == [30.0]
