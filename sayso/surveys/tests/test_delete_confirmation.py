# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""Deleting a question or a page goes through a confirmation page (no JavaScript
needed): the link shows what is about to go with a button; only the POST deletes."""

from __future__ import annotations

import pytest

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys.models import Question, Section

from .factories import make_survey
from .factories import organiser_client as organiser
from .factories import survey_url as url

pytestmark = pytest.mark.django_db


def test_deleting_an_unanswered_question_asks_first() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser(survey)
    story = Question.objects.get(survey=survey, name="story")
    delete = url("question-delete", survey, question=story.pk)
    # The survey page links to the confirmation; it does not delete on one click.
    assert f'<a href="{delete}">' in client.get(url("detail", survey)).content.decode()
    before = Question.objects.filter(survey=survey).count()
    asked = client.get(delete)
    assert asked.status_code == 200
    html = asked.content.decode()
    label = story.text(survey.default_language)
    assert f"Delete the question &#x27;{label}&#x27;?" in html
    assert "This cannot be undone." in html
    assert '<form method="post">' in html
    assert ">Delete the question</button>" in html
    assert Question.objects.filter(survey=survey).count() == before  # asking deletes nothing
    deleted = client.post(delete)
    assert deleted.status_code == 302
    assert not Question.objects.filter(pk=story.pk).exists()
    assert Question.objects.filter(survey=survey).count() == before - 1


def test_deleting_a_page_asks_first_too() -> None:
    survey = make_survey(CommunityFactory())
    extra = Section.objects.create(survey=survey, order=9, title={"en": "Extra"})
    Question.objects.create(
        survey=survey, section=extra, order=1, name="extra", type="short_text", label={"en": "X"}
    )
    client = organiser(survey)
    delete = url("section-delete", survey, section=extra.pk)
    assert f'<a href="{delete}">' in client.get(url("detail", survey)).content.decode()
    asked = client.get(delete).content.decode()
    assert "Delete the page &#x27;Extra&#x27; and its questions?" in asked
    assert "It has 1 question. This cannot be undone." in asked
    assert ">Delete the page</button>" in asked
    assert Section.objects.filter(pk=extra.pk).exists()
    assert client.post(delete).status_code == 302
    assert not Section.objects.filter(pk=extra.pk).exists()
    assert not Question.objects.filter(name="extra", survey=survey).exists()
