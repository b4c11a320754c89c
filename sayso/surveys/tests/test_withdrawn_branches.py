# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""An answer that ends a branch of later questions drops their answers.

The reviewer answered pets: yes, pet name "Rex", dog: yes, breed "Collie", then on the
check page changed pets to no. The check page still listed "Dog's breed: Collie" (the
draft still held dog: yes, so breed still looked relevant), and the draft kept "Rex"
on the server though the respondent had withdrawn it. Relevance is now judged in the
survey's order, an answer to a question that no longer applies counting for nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys.models import Choice, Question, Response, Section, Survey

from .test_respondent_flow import page_url
from .test_respondent_ui_languages import start_url

pytestmark = pytest.mark.django_db


def pets_survey() -> Survey:
    survey = Survey.objects.create(
        community=CommunityFactory(), title="Pets", languages=["en"], status=Survey.Status.OPEN
    )
    pages = [
        Section.objects.create(survey=survey, order=i, title={"en": f"Page {i}"}) for i in (1, 2, 3)
    ]

    def question(
        page: Section, name: str, kind: str, relevant: str = "", yes_no: bool = False
    ) -> Question:
        made = Question.objects.create(
            survey=survey,
            section=page,
            order=1 if not relevant else 2,
            name=name,
            type=kind,
            label={"en": name.title()},
            relevant=relevant,
        )
        if yes_no:
            for order, choice in enumerate(("yes", "no"), 1):
                Choice.objects.create(
                    question=made, order=order, name=choice, label={"en": choice.title()}
                )
        return made

    question(pages[0], "pets", Question.Type.SINGLE, yes_no=True)
    question(pages[1], "petname", Question.Type.SHORT_TEXT, "${pets} = 'yes'")
    Question.objects.filter(name="petname").update(order=1)
    question(pages[1], "dog", Question.Type.SINGLE, "${pets} = 'yes'", yes_no=True)
    question(pages[2], "breed", Question.Type.SHORT_TEXT, "${dog} = 'yes'")
    return survey


def test_changing_an_answer_drops_the_answers_of_the_branch_it_ends() -> None:
    survey = pets_survey()
    client = Client()
    first = str(client.post(start_url(survey), {"language": "en"})["Location"])
    client.post(first, {"q_pets": "yes"})
    client.post(page_url(first, 1), {"q_petname": "Rex", "q_dog": "yes"})
    check = str(client.post(page_url(first, 2), {"q_breed": "Collie"})["Location"])
    assert Response.objects.get().draft == {
        "pets": "yes",
        "petname": "Rex",
        "dog": "yes",
        "breed": "Collie",
    }
    page = client.get(check).content.decode()
    assert "Collie" in page
    assert "Rex" in page

    # Change pets to no from the check page: the whole branch goes.
    changed = client.post(page_url(first, 0) + "?from=check", {"q_pets": "no"})
    assert changed.status_code == 302
    assert Response.objects.get().draft == {"pets": "no"}
    page = client.get(check).content.decode()
    for withdrawn in ("Collie", "Rex", "Breed", "Petname", "Dog"):
        assert withdrawn not in page, withdrawn


def test_the_check_page_lists_only_what_will_be_sent_for_an_old_draft() -> None:
    """A draft saved before this rule can still hold a withdrawn branch: the check page
    judges it in order, so it lists exactly what the submission will keep."""
    survey = pets_survey()
    client = Client()
    first = str(client.post(start_url(survey), {"language": "en"})["Location"])
    client.post(first, {"q_pets": "no"})
    Response.objects.update(draft={"pets": "no", "dog": "yes", "breed": "Collie"})
    check = first.replace("/p/0/", "/check/")
    page = client.get(check).content.decode()
    assert "Collie" not in page
    assert "Pets" in page
