# mypy: disable-error-code="no-untyped-call,arg-type"
from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import AuditEvent
from sayso.core.tests.factories import (
    CommunityFactory,
    MembershipFactory,
    OrganiserFactory,
    signed_in,
)
from sayso.surveys.models import Answer, Response, Survey

from .factories import make_survey

pytestmark = pytest.mark.django_db


def test_respond_by_link_without_javascript_keeps_answers_on_error() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    client = Client()
    start = client.post(reverse("surveys_public:start", kwargs={"link": survey.link_token}))
    assert start.status_code == 302
    page_url = start["Location"]
    shown = client.get(page_url)
    assert b"Page 1 of 2" in shown.content
    refused = client.post(page_url, {"q_shift": "night", "q_age": "12"})
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "Give an age from 16 to 80." in html
    assert 'value="night" id="q_shift-2" checked' in html
    assert 'value="12"' in html
    typo = client.post(page_url, {"q_shift": "night", "q_age": "twelve"})
    assert "Enter a number, like 12 or 3.5." in typo.content.decode()
    assert 'value="twelve"' in typo.content.decode()
    # float() takes them; JSON cannot hold them. Exponent notation is asked for in full.
    for not_a_number, message in (
        ("nan", "Enter a number, like 12 or 3.5."),
        ("inf", "Enter a number, like 12 or 3.5."),
        ("1e999", "Write the number out in full, like 1000000 rather than 1e6."),
    ):
        refused = client.post(page_url, {"q_shift": "night", "q_age": not_a_number})
        assert refused.status_code == 200
        assert message in refused.content.decode()
    assert "age" not in Response.objects.get().draft
    second = client.post(page_url, {"q_shift": "night", "q_age": "30"})
    missing = client.post(second["Location"], {"q_worries": ["rates"]})
    assert "Answer this question." in missing.content.decode()
    to_check = client.post(
        second["Location"], {"q_disciplined": "yes", "q_worries": ["rates"], "q_story": "Warned"}
    )
    check = client.get(to_check["Location"])
    assert "Check your answers" in check.content.decode()
    done = client.post(to_check["Location"])
    assert done["Location"] == reverse("surveys_public:thanks", kwargs={"link": survey.link_token})
    response = Response.objects.get()
    assert response.status == Response.Status.COMPLETE
    assert Answer.objects.filter(response=response).count() == 5
    assert client.get(page_url).status_code == 404  # the private link ends with submission


def test_save_and_continue_link() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    client = Client()
    page_url = client.post(reverse("surveys_public:start", kwargs={"link": survey.link_token}))[
        "Location"
    ]
    saved = client.post(page_url, {"q_shift": "day", "later": "1"})
    assert "saved" in saved["Location"]
    later = Client().get(Client().get(saved["Location"]).context["link"])
    assert later.status_code == 200
    assert "About you" in later.content.decode()  # the page it was saved on


def test_code_entry_refuses_used_codes_plainly() -> None:
    community = CommunityFactory()
    organiser = OrganiserFactory(community=community).user
    survey = make_survey(community)
    client = signed_in(organiser)
    sheet = client.post(
        reverse("surveys:codes", kwargs={"slug": community.slug, "pk": survey.pk}),
        {"size": 2},
        follow=True,
    )
    code = sheet.context["codes"][0][0]
    client.post(
        reverse("surveys:status", kwargs={"slug": community.slug, "pk": survey.pk}),
        {"status": "open"},
    )
    url = reverse("surveys_public:code", kwargs={"link": Survey.objects.get().link_token})
    assert Client().post(url, {"code": code}).status_code == 302
    again = Client().post(url, {"code": code})
    assert "That code is not valid or has already been used." in again.content.decode()


def test_outsiders_get_404_and_members_cannot_build() -> None:
    community = CommunityFactory()
    survey = make_survey(community, status=Survey.Status.OPEN)
    outsider = OrganiserFactory(community=CommunityFactory()).user
    member = MembershipFactory(community=community).user
    client = signed_in(outsider)
    assert (
        client.get(
            reverse("surveys:results", kwargs={"slug": community.slug, "pk": survey.pk})
        ).status_code
        == 404
    )
    client.force_login(member)
    assert (
        client.get(
            reverse("surveys:results", kwargs={"slug": community.slug, "pk": survey.pk})
        ).status_code
        == 200
    )
    assert (
        client.get(
            reverse("surveys:edit", kwargs={"slug": community.slug, "pk": survey.pk})
        ).status_code
        == 403
    )
    other = make_survey(CommunityFactory())
    client.force_login(OrganiserFactory(community=community).user)
    assert (
        client.get(
            reverse("surveys:detail", kwargs={"slug": community.slug, "pk": other.pk})
        ).status_code
        == 404
    )


def test_builder_flow_and_export_audit() -> None:
    community = CommunityFactory()
    client = signed_in(OrganiserFactory(community=community).user)
    created = client.post(
        reverse("surveys:create", kwargs={"slug": community.slug}),
        {
            "title": "Night survey",
            "distribution": "link",
            "languages_text": "en",
            "is_convenience_sample": "on",
        },
    )
    survey = Survey.objects.get()
    assert created["Location"] == survey.get_absolute_url()
    section = survey.sections.get()
    url = reverse(
        "surveys:question-create",
        kwargs={"slug": community.slug, "pk": survey.pk, "section": section.pk},
    )
    bad = client.post(
        url, {"label": "Why?", "name": "why", "type": "short_text", "relevant": "${nope} = 1"}
    )
    assert "refers to ${nope}, which is not an earlier question" in bad.content.decode()
    client.post(
        url,
        {
            "label": "Shift?",
            "name": "shift",
            "type": "single",
            "choices": "day = Days\nnight = Nights",
            "required": "on",
        },
    )
    assert list(survey.questions.values_list("name", flat=True)) == ["shift"]
    preview = client.post(
        reverse("surveys:preview", kwargs={"slug": community.slug, "pk": survey.pk})
    )
    assert client.get(preview["Location"]).status_code == 200
    results = client.get(
        reverse("surveys:results", kwargs={"slug": community.slug, "pk": survey.pk})
    )
    assert "Fewer than 5 people have answered so far, so no results are shown" in (
        results.content.decode()
    )
    export = client.get(
        reverse("surveys:export", kwargs={"slug": community.slug, "pk": survey.pk, "fmt": "csv"})
    )
    assert export.status_code == 200
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == 1


def test_code_sheet_link_wraps_inside_the_token_on_a_phone() -> None:
    """Regression: a 32-character token without hyphens could not wrap, so the printed
    sheet scrolled sideways at 375px."""
    import re

    community = CommunityFactory()
    survey = make_survey(community)
    survey.link_token = "W" * 32
    survey.save()
    client = signed_in(OrganiserFactory(community=community).user)
    sheet = client.post(
        reverse("surveys:codes", kwargs={"slug": community.slug, "pk": survey.pk}),
        {"size": 1},
        follow=True,
    )
    html = sheet.content.decode()
    assert "WWWWWWWW<wbr>WWWWWWWW<wbr>WWWWWWWW<wbr>WWWWWWWW/<wbr>code/" in html
    link = re.search(r"<span>(http[^<]*(?:<wbr>[^<]*)*)</span>", html)
    assert link is not None
    assert link.group(1).replace("<wbr>", "") == f"http://testserver/surveys/{'W' * 32}/code/"
