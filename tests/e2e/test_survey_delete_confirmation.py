"""Deleting a question in a browser without JavaScript: the Delete link opens a page
that asks "Delete the question '…'? This cannot be undone." with a button; going back
keeps the question; the button deletes it. Every page is axe-checked."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from sayso.core.models import Community, Membership, Role
from sayso.surveys.models import Question
from sayso.surveys.tests.factories import make_survey

from .conftest import PASSWORD, BrowseFactory, sign_in

pytestmark = pytest.mark.e2e


def test_deleting_a_question_asks_first_without_javascript(browse: BrowseFactory) -> None:
    user = get_user_model().objects.create_user("rep@example.org", PASSWORD, name="Rosa")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    Membership.objects.create(community=community, user=user, role=Role.ORGANISER)
    survey = make_survey(community)
    story = Question.objects.get(survey=survey, name="story")
    label = story.text(survey.default_language)

    rep = browse("organiser", javascript=False)
    sign_in(rep, user.email)
    rep.visit(f"/c/northgate-depot/surveys/{survey.pk}/")
    page = rep.page
    rep.follow("Delete story")
    assert page.get_by_role("heading", level=1).inner_text() == f"Delete the question '{label}'?"
    assert "This cannot be undone." in page.content()
    assert Question.objects.filter(pk=story.pk).exists()  # asking deletes nothing
    rep.follow("Keep it")
    assert Question.objects.filter(pk=story.pk).exists()
    rep.follow("Delete story")
    rep.submit("Delete the question")
    assert "Question deleted." in page.content()
    assert not Question.objects.filter(pk=story.pk).exists()
    assert page.get_by_role("link", name="Delete story").count() == 0
