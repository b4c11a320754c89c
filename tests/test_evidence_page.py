# mypy: disable-error-code="no-untyped-call,arg-type"
"""The community's Evidence page with real citations: a survey result cited from the
results page and conversation statements cited from the report, through the modules'
own views and services (surveys.views.cite_result, deliberation.services).

Each is shown in its module's words with a link back to the living source; members and
advisors see a citation only when the source's own page shows them its figures; and a
removed citation leaves the source's page too, while the checks against citing figures
a few people apart still count it.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.models import Citation, Community, Role
from sayso.core.services import remove_citation
from sayso.core.tests.factories import AdvisorGrantFactory, CommunityFactory, MembershipFactory
from sayso.deliberation import services as deliberation
from sayso.deliberation.models import Conversation, Statement
from sayso.deliberation.tests.factories import ConversationFactory, planted
from sayso.surveys import selectors as survey_selectors
from sayso.surveys.models import Survey
from sayso.surveys.tests.factories import answer, close, make_survey, survey_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def evidence_url(community: Community, **query: str) -> str:
    url = reverse("core:evidence", kwargs={"slug": community.slug})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def listed(html: str) -> list[str]:
    return re.findall(r"<h3><bdi>(.*?)</bdi></h3>", html)


def item(html: str, title: str) -> str:
    """One citation's card on the page, its markup and spaces flattened to text, with
    its links kept as [words](url)."""
    card = html.split(f"<h3><bdi>{title}</bdi></h3>", 1)[1].split("</li>\n", 1)[0]
    card = re.sub(r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>', r"[\2](\1)", card, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", card)).strip()


class World:
    """A community with a survey cited from its results page (closed afterwards or
    not) and a conversation's statements cited from its report, both by Rosa."""

    def __init__(self, *, survey_closed: bool = True) -> None:
        self.community = CommunityFactory(small_group_threshold=2)  # published: 10
        self.rosa = MembershipFactory(
            community=self.community, role=Role.ORGANISER, user__name="Rosa"
        ).user
        self.organiser = signed_in(self.rosa)
        self.survey = make_survey(self.community, status=Survey.Status.OPEN)
        for worked in ["day"] * 15 + ["night"] * 10:
            answer(self.survey, shift=worked, disciplined="no")
        if survey_closed:
            close(self.survey)
        self.shift = self.survey.questions.get(name="shift")
        cited = self.organiser.post(survey_url("cite", self.survey, question=self.shift.pk))
        assert cited.status_code == 302
        self.result = Citation.objects.get(evidence_type="survey.result")
        self.conversation = ConversationFactory.create(community=self.community)
        planted(self.conversation, groups=2, size=10, statements=8)
        deliberation.compute_now(conversation=self.conversation)
        self.last = Statement.objects.get(conversation=self.conversation, number=7)
        report = reverse(
            "deliberation:cite",
            kwargs={"slug": self.community.slug, "conversation": self.conversation.pk},
        )
        assert (
            self.organiser.post(
                report, {"statement": self.last.pk, "kind": "consensus"}
            ).status_code
            == 302
        )
        self.consensus = Citation.objects.get(evidence_type=deliberation.EVIDENCE_CONSENSUS)
        self.group, _new = deliberation.cite_from_report(
            conversation=self.conversation,
            statement_id=self.last.pk,
            kind="group",
            group=0,
            actor=self.rosa,
        )

    def reader(self, role: str) -> Client:
        if role == "advisor":
            return signed_in(AdvisorGrantFactory(community=self.community).advisor)
        return signed_in(MembershipFactory(community=self.community, role=role).user)


def test_both_kinds_are_listed_in_their_own_words_with_links_back() -> None:
    world = World()
    html = world.organiser.get(evidence_url(world.community)).content.decode()
    statement = world.last.text
    assert listed(html) == [statement, statement, "Scanner survey: Shift"]
    assert "3 pieces of evidence" in html
    when = world.result.cited_at.strftime("%-d %B %Y")
    results = survey_url("results", world.survey)
    survey = item(html, "Scanner survey: Shift")
    # The day of the last answer in words, as "Cited" beside it, not as stored (ISO).
    last_answer = datetime.date.fromisoformat(world.result.snapshot["date"])
    assert survey.startswith(
        f"25 people answered, answers up to {last_answer:%-d %B %Y}. "
        "Day: 60%, 15 people (95% interval "
    )
    assert "Night: 40%, 10 people (95% interval " in survey
    assert (
        f"From [Survey “Scanner survey”: results]({results}?audience=published#q-"
        f"{world.shift.pk}) Cited {when}, by Rosa [Remove Scanner survey: Shift ]("
        f"/c/{world.community.slug}/evidence/{world.result.pk}/remove/?page=1)"
    ) in survey
    report = reverse(
        "deliberation:report",
        kwargs={"slug": world.community.slug, "conversation": world.conversation.pk},
    )
    topic = world.conversation.topic
    # The group's citation is the newer: listed first.
    cards = html.split(f"<h3><bdi>{statement}</bdi></h3>")
    group, consensus = (
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c.split("</li>\n", 1)[0])).strip()
        for c in cards[1:3]
    )
    assert group.startswith(
        "What opinion group A (10 people) thinks of this statement: 100% agree, "
        "0% disagree, from 10 votes."
    )
    assert consensus.startswith(
        "Common ground: most people who voted took the same side. Everyone who voted: "
        "100% agree, 0% disagree, from 20 votes."
    )
    for card in (group, consensus):
        assert f"From Conversation “{topic}”: report Cited {when}, by Rosa" in card
    assert html.count(f'<a href="{report}">Conversation “{topic}”: report</a>') == 2


def test_the_filter_shows_one_module_at_a_time() -> None:
    world = World()
    client = world.organiser
    html = client.get(evidence_url(world.community)).content.decode()
    assert '<option value="deliberation">Conversations</option>' in html
    assert '<option value="surveys">Surveys</option>' in html
    surveys = client.get(evidence_url(world.community, kind="surveys")).content.decode()
    assert listed(surveys) == ["Scanner survey: Shift"]
    assert "1 piece of evidence from Surveys" in surveys
    talks = client.get(evidence_url(world.community, kind="deliberation")).content.decode()
    assert listed(talks) == [world.last.text, world.last.text]
    assert "2 pieces of evidence from Conversations" in talks


@pytest.mark.parametrize("role", ["member", "advisor"])
def test_members_and_advisors_see_an_open_surveys_citation_only_once_it_shows_them_figures(
    role: str,
) -> None:
    world = World(survey_closed=False)
    reader = world.reader(role)
    statement = world.last.text
    assert listed(world.organiser.get(evidence_url(world.community)).content.decode()) == [
        statement,
        statement,
        "Scanner survey: Shift",
    ]
    # The results page shows them no figures while the survey is open, and no citation.
    withheld = survey_selectors.withheld_because(world.survey, can_organise=False)
    assert withheld is not None
    results = reader.get(survey_url("results", world.survey)).content.decode()
    assert "Cited as evidence" not in results
    html = reader.get(evidence_url(world.community)).content.decode()
    assert listed(html) == [statement, statement]
    assert "Scanner survey" not in html
    assert "Day: 60%" not in html
    assert "once its results are shown to members" in html
    # Closed with ten more answers: the figures are theirs to read, and so is the citation.
    for worked in ["day"] * 10:
        answer(world.survey, shift=worked, disciplined="no")
    close(world.survey)
    assert survey_selectors.withheld_because(world.survey, can_organise=False) is None
    html = reader.get(evidence_url(world.community)).content.decode()
    assert listed(html) == [statement, statement, "Scanner survey: Shift"]


@pytest.mark.parametrize("role", ["member", "advisor"])
def test_figures_withheld_after_closing_keep_the_citation_from_members(role: str) -> None:
    """Closed a few responses after the citation, the survey's figures stay with its
    organisers (withheld_because: few since shown), and the citation with them."""
    world = World(survey_closed=False)
    answer(world.survey, shift="night", disciplined="no")
    close(world.survey)
    world.survey.refresh_from_db()
    assert world.survey.figures_withheld_since_shown
    assert survey_selectors.withheld_because(world.survey, can_organise=False) is not None
    html = world.reader(role).get(evidence_url(world.community)).content.decode()
    assert "Scanner survey" not in html


@pytest.mark.parametrize("role", ["member", "advisor"])
def test_a_conversation_hiding_its_results_until_closed_keeps_its_citations_till_then(
    role: str,
) -> None:
    world = World()
    Conversation.objects.filter(pk=world.conversation.pk).update(results_hidden_until_closed=True)
    reader = world.reader(role)
    report = reverse(
        "deliberation:report",
        kwargs={"slug": world.community.slug, "conversation": world.conversation.pk},
    )
    assert world.last.text not in reader.get(report).content.decode()
    html = reader.get(evidence_url(world.community)).content.decode()
    assert listed(html) == ["Scanner survey: Shift"]
    Conversation.objects.filter(pk=world.conversation.pk).update(state=Conversation.State.CLOSED)
    assert world.last.text in reader.get(report).content.decode()
    html = reader.get(evidence_url(world.community)).content.decode()
    assert listed(html) == [world.last.text, world.last.text, "Scanner survey: Shift"]


def test_a_removed_citation_leaves_the_evidence_page_and_its_source_page() -> None:
    world = World()
    client = world.organiser
    results_url = survey_url("results", world.survey) + "?audience=published"
    assert "Cited as evidence" in client.get(results_url).content.decode()
    remove = reverse(
        "core:evidence-remove", kwargs={"slug": world.community.slug, "pk": world.result.pk}
    )
    assert client.post(remove).status_code == 302
    html = client.get(evidence_url(world.community)).content.decode()
    assert listed(html) == [world.last.text, world.last.text]
    assert "Cited as evidence" not in client.get(results_url).content.decode()
    report = reverse(
        "deliberation:report",
        kwargs={"slug": world.community.slug, "conversation": world.conversation.pk},
    )
    assert client.get(report).content.decode().count(f"<li>“{world.last.text}” —") == 2
    remove_citation(citation=world.group, actor=world.rosa)
    assert client.get(report).content.decode().count(f"<li>“{world.last.text}” —") == 1
    # Cited again from the report: a new citation, listed, not the removed one.
    again, created = deliberation.cite_from_report(
        conversation=world.conversation,
        statement_id=world.last.pk,
        kind="group",
        group=0,
        actor=world.rosa,
    )
    assert created
    assert again.pk != world.group.pk
    assert client.get(report).content.decode().count(f"<li>“{world.last.text}” —") == 2


def test_removing_a_citation_does_not_free_figures_a_few_answers_from_it() -> None:
    """What was cited may be in someone's hands already: a citation one answer from it
    would still give away that person's answer, removed or not."""
    world = World(survey_closed=False)
    remove_citation(citation=world.result, actor=world.rosa)
    answer(world.survey, shift="night", disciplined="no")
    cite = survey_url("cite", world.survey, question=world.shift.pk)
    refused = world.organiser.post(cite, follow=True).content.decode()
    assert "It was cited when 25 people had answered it, and 26 have now." in refused
    assert Citation.objects.filter(evidence_type="survey.result").count() == 1
    assert not Citation.objects.listed().filter(evidence_type="survey.result").exists()


def test_the_same_survey_figures_cited_again_after_removal_are_listed_again() -> None:
    world = World()
    remove_citation(citation=world.result, actor=world.rosa)
    cite = survey_url("cite", world.survey, question=world.shift.pk)
    cited = world.organiser.post(cite, follow=True).content.decode()
    assert "Result cited as evidence." in cited
    html = world.organiser.get(evidence_url(world.community)).content.decode()
    assert listed(html)[0] == "Scanner survey: Shift"


def test_citing_a_survey_result_points_to_the_evidence_page() -> None:
    world = World()
    cite = survey_url(
        "cite", world.survey, question=world.survey.questions.get(name="disciplined").pk
    )
    landed = world.organiser.post(cite, follow=True).content.decode()
    assert "Result cited as evidence." in landed
    link = f'<a href="{evidence_url(world.community)}">See all your community\'s evidence</a>'
    after = landed.split('<h2 id="citations">', 1)[1]
    assert after.index(link) < after.index("<ul>")
