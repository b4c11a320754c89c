# mypy: disable-error-code="no-untyped-call,arg-type"
"""The running counts behind the results page, its query count, charts and the CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sayso.core.services import ServiceError
from sayso.core.tests.factories import (
    CommunityFactory,
    MembershipFactory,
    OrganiserFactory,
    signed_in,
)
from sayso.surveys import exports, selectors, services
from sayso.surveys.models import Answer, AnswerCount, Response, Survey

from .factories import close, in_start_order, make_survey

pytestmark = pytest.mark.django_db


def answer(survey: Survey, user: Any = None, **values: Any) -> Response:
    response, _raw = services.start_response(survey=survey, language="en", user=user)
    services.save_page(response=response, answers=values, page=1)
    assert services.submit_response(response=response, user=user) == {}
    return response


def counted(survey: Survey) -> dict[int, dict[str, Any]]:
    return {k: vars(v) for k, v in selectors.counts(survey).items()}


def grouped(survey: Survey) -> dict[int, dict[str, Any]]:
    return {k: vars(v) for k, v in selectors.tally(Answer.objects.filter(survey=survey)).items()}


def test_running_counts_equal_a_group_by_over_the_answers() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    answer(survey, shift="day", age=30, disciplined="no", worries=["rates", "sharing"])
    answer(survey, shift="night", age=41, disciplined="yes", worries=["cameras"], story="Warned")
    answer(survey, shift="night", disciplined="yes")
    assert counted(survey) == grouped(survey)
    shift, age, worries = (survey.questions.get(name=n) for n in ("shift", "age", "worries"))
    night = shift.choices.get(name="night").pk
    assert counted(survey)[shift.pk]["chosen"] == {shift.choices.get(name="day").pk: 1, night: 2}
    assert (counted(survey)[age.pk]["numbers"], counted(survey)[age.pk]["number_sum"]) == (2, 71)
    # Two people answered the multiple choice question, with three choices between them.
    assert counted(survey)[worries.pk]["firsts_total"] == 2
    assert sum(counted(survey)[worries.pk]["chosen"].values()) == 3


def test_counts_roll_back_with_a_refused_submission() -> None:
    community = CommunityFactory()
    survey = make_survey(community, status=Survey.Status.OPEN, one_response_per_member=True)
    member = MembershipFactory(community=community).user
    answer(survey, user=member, shift="day", disciplined="no")
    before = counted(survey)
    # The member's second response was started before the first was sent.
    second, _raw = services.start_response(survey=survey, language="en")
    services.save_page(response=second, answers={"shift": "night", "disciplined": "yes"}, page=1)
    with pytest.raises(ServiceError):
        services.submit_response(response=second, user=member)
    assert counted(survey) == before == grouped(survey)
    assert Response.objects.filter(status=Response.Status.COMPLETE).count() == 1


def test_removing_a_choice_recounts() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    answer(survey, shift="day", disciplined="no", worries=["rates", "cameras"])
    answer(survey, shift="night", disciplined="yes", worries=["rates"])
    worries = survey.questions.get(name="worries")
    # Only a choice nobody chose may go once people have answered (test_builder_safety).
    services.save_question(
        question=worries,
        survey=survey,
        section=worries.section,
        choices=[("cameras", "Cameras"), ("rates", "Rates")],
        language="en",
    )
    assert counted(survey) == grouped(survey)
    assert counted(survey)[worries.pk]["chosen"] == {
        worries.choices.get(name="cameras").pk: 1,
        worries.choices.get(name="rates").pk: 2,
    }
    services.recount(survey=survey)
    assert counted(survey) == grouped(survey)
    assert AnswerCount.objects.filter(survey=survey).count() == 6  # 2 shift, 2 disciplined, 2


def test_filtered_results_count_the_answers_the_same_way() -> None:
    survey = make_survey(CommunityFactory(small_group_threshold=2), status=Survey.Status.OPEN)
    for _ in range(3):
        answer(survey, shift="day", age=20, disciplined="no", worries=["rates"])
    for _ in range(3):
        answer(survey, shift="night", age=40, disciplined="yes", worries=["rates", "cameras"])
    shift = survey.questions.get(name="shift")
    night = selectors.results(survey, only=(shift, "night"))
    assert night.respondents == 3
    worries = next(r for r in night.questions if r.question.name == "worries")
    # All three night workers chose "rates" and "cameras" and nobody "sharing": shown,
    # that would reveal everyone's answer, so every cell is hidden.
    assert worries.respondents == 3
    assert [(r.name, r.hidden) for r in worries.rows] == [
        ("rates", True),
        ("cameras", True),
        ("sharing", True),
    ]
    age = next(r for r in selectors.results(survey).questions if r.question.name == "age")
    # Each shift gave one age: an average (30, and 40 for nights) would say each one's
    # (test_number_average_same).
    assert (age.respondents, age.mean) == (6, None)


def test_results_cost_the_same_queries_however_many_answered(
    django_assert_num_queries: Any,
) -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    for i in range(6):
        answer(survey, shift="day", age=20 + i, disciplined="yes", story=f"s{i}")
    # questions, their choices, how many answered, the running counts, the texts shown,
    # the number question's answers counted in ranges
    with django_assert_num_queries(6):
        few = selectors.results(survey)
    for i in range(6):
        answer(survey, shift="night", age=30 + i, disciplined="no", worries=["rates"])
    with django_assert_num_queries(6):
        more = selectors.results(survey)
    assert (few.respondents, more.respondents) == (6, 12)


def test_results_page_links_charts_that_render_as_svg() -> None:
    community = CommunityFactory(small_group_threshold=2)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for worked in ("day", "day", "night", "night"):
        answer(survey, shift=worked, disciplined="no")
    close(survey)  # members read the figures once the survey is closed
    client = signed_in(MembershipFactory(community=community).user)
    page = client.get(reverse("surveys:results", kwargs={"slug": community.slug, "pk": survey.pk}))
    shift = survey.questions.get(name="shift")
    url = reverse(
        "surveys:chart", kwargs={"slug": community.slug, "pk": survey.pk, "question": shift.pk}
    )
    assert f'src="{url}?audience=members"' in page.content.decode()
    chart = client.get(url, {"audience": "members"})
    assert chart.status_code == 200
    assert chart["Content-Type"] == "image/svg+xml"
    assert chart.content.startswith(b"<svg")
    # Drafts stay hidden from members, charts included.
    draft = make_survey(community)
    hidden = reverse(
        "surveys:chart",
        kwargs={
            "slug": community.slug,
            "pk": draft.pk,
            "question": draft.questions.get(name="shift").pk,
        },
    )
    assert client.get(hidden).status_code == 404


def test_csv_export_writes_lists_as_names_and_blanks_for_unanswered() -> None:
    community = CommunityFactory()
    survey = make_survey(community, status=Survey.Status.OPEN)
    first = answer(survey, shift="night", age=34, disciplined="yes", worries=["rates", "cameras"])
    answer(survey, shift="day", disciplined="no", story="")
    body = b"".join(exports.export_csv(survey)).decode()
    table = list(csv.reader(io.StringIO(body)))
    assert table[0] == [
        "response_id",
        "submitted_on",
        "shift",
        "age",
        "disciplined",
        "worries",
        "story",
    ]
    responses = in_start_order(survey, table[1:])
    assert responses[0][0] == str(first.export_key)
    assert responses[0][2:] == ["night", "34", "yes", "rates cameras", ""]
    assert responses[1][2:] == ["day", "", "no", "", ""]
    assert len(table) == 3
    client = signed_in(OrganiserFactory(community=community).user)
    url = reverse("surveys:export", kwargs={"slug": community.slug, "pk": survey.pk, "fmt": "csv"})
    downloaded = client.get(url)
    assert b"".join(downloaded.streaming_content).decode() == body  # type: ignore[attr-defined]


def test_participation_ids_do_not_follow_submission_order() -> None:
    """Sequential ids would line participations up with the answers inserted beside them."""
    from sayso.surveys.models import MemberParticipation

    community = CommunityFactory()
    survey = make_survey(community, status=Survey.Status.OPEN, one_response_per_member=True)
    for _ in range(20):
        answer(
            survey, user=MembershipFactory(community=community).user, shift="day", disciplined="no"
        )
    # Ids are random: they neither run consecutively nor rise in submission order.
    by_user = list(
        MemberParticipation.objects.filter(survey=survey)
        .order_by("user_id")
        .values_list("pk", flat=True)
    )
    assert len(set(by_user)) == 20
    assert sum(b == a + 1 for a, b in itertools.pairwise(by_user)) == 0
    assert by_user != sorted(by_user)
    field = MemberParticipation._meta.get_field("id")
    assert field.default() != field.default()


def test_reading_unapproved_text_answers_is_audited() -> None:
    from sayso.core.models import AuditEvent

    community = CommunityFactory()
    survey = make_survey(community, status=Survey.Status.OPEN)
    for i in range(5):
        answer(survey, shift="day", disciplined="yes", story=f"story {i}")
    url = reverse("surveys:results", kwargs={"slug": community.slug, "pk": survey.pk})
    member = signed_in(MembershipFactory(community=community).user)
    assert member.get(url).status_code == 200
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()
    organiser = OrganiserFactory(community=community).user
    client = signed_in(organiser)
    page = client.get(url).content.decode()
    assert "story 3" in page
    event = AuditEvent.objects.get(action=AuditEvent.Action.ANSWERS_READ)
    assert (event.community_id, event.actor_id) == (survey.community_id, organiser.pk)
    assert "read the unapproved text answers of survey 'Scanner survey'." in event.summary
    assert event.get_action_display() == "Unapproved answers read"
    # Read again today (another filter, another view): still one line for the day.
    client.get(url, {"audience": "members"})
    client.get(url)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ANSWERS_READ).count() == 1
    # On another day, a new line; another organiser gets their own.
    AuditEvent.objects.filter(pk=event.pk).update(
        created_at=event.created_at - dt.timedelta(days=1)
    )
    client.get(url)
    second = signed_in(OrganiserFactory(community=community).user)
    second.get(url)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ANSWERS_READ).count() == 3
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()
    for each in Answer.objects.filter(survey=survey).exclude(text=""):
        services.approve_answer(answer=each)
    AuditEvent.objects.all().delete()
    client.get(url)  # nothing unapproved left to read
    assert not AuditEvent.objects.exists()


def test_approving_an_answer_names_it_by_its_response_key_not_its_id() -> None:
    """An answer's id counts up in the order people answered; the page's approve links
    name the question and the response's random export key instead."""
    community = CommunityFactory()
    survey = make_survey(community, status=Survey.Status.OPEN)
    for i in range(5):
        answer(survey, shift="day", disciplined="yes", story=f"story {i}")
    client = signed_in(OrganiserFactory(community=community).user)
    url = reverse("surveys:results", kwargs={"slug": community.slug, "pk": survey.pk})
    page = client.get(url).content.decode()
    texts = Answer.objects.filter(survey=survey).exclude(text="").select_related("response")
    first = texts.get(text="story 2")
    approve = reverse(
        "surveys:answer-approve",
        kwargs={
            "slug": community.slug,
            "pk": survey.pk,
            "question": first.question_id,
            "response_key": first.response.export_key,
        },
    )
    assert f'action="{approve}"' in page
    for each in texts:
        assert f"/answers/{each.pk}/" not in page
    # A key of another question's answer, or a choice question, finds nothing.
    choice = Answer.objects.filter(survey=survey, text="").first()
    assert choice is not None
    wrong = approve.replace(f"/questions/{first.question_id}/", f"/questions/{choice.question_id}/")
    assert client.post(wrong).status_code == 404
    assert not Answer.objects.filter(survey=survey, approved=True).exists()
    response = client.post(approve)
    assert response.status_code == 302
    assert list(Answer.objects.filter(approved=True).values_list("text", flat=True)) == ["story 2"]


def test_survey_list_query_count_does_not_grow(django_assert_num_queries: Any) -> None:
    community = CommunityFactory()
    client = signed_in(OrganiserFactory(community=community).user)
    url = reverse("surveys:list", kwargs={"slug": community.slug})
    make_survey(community)
    client.get(url)  # warm any per-process caches
    with CaptureQueriesContext(connection) as first:
        assert client.get(url).status_code == 200
    for _ in range(4):
        make_survey(community, status=Survey.Status.OPEN)
    with django_assert_num_queries(len(first.captured_queries)):
        assert client.get(url).status_code == 200


def test_results_as_published_show_an_organiser_only_approved_text_answers() -> None:
    """The organiser's preview of published results is what would be published."""
    from sayso.core.models import AuditEvent

    community = CommunityFactory()
    survey = make_survey(community, status=Survey.Status.OPEN)
    for i in range(12):  # enough to publish
        answer(survey, shift="day", disciplined="yes", story=f"story {i}")
        # The story is asked only after "yes": had everyone said yes, the number of
        # stories would say so, and the results hide it (test_skip_logic_disclosure).
        answer(survey, shift="day", disciplined="no")
    services.approve_answer(answer=Answer.objects.get(survey=survey, text="story 2"))
    url = reverse("surveys:results", kwargs={"slug": community.slug, "pk": survey.pk})
    client = signed_in(OrganiserFactory(community=community).user)
    page = client.get(url, {"audience": "published"}).content.decode()
    assert "story 2" in page
    assert "story 3" not in page
    assert "Approve for members" not in page
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()
    # As members see them, the organiser still reads and approves every answer.
    assert "story 3" in client.get(url).content.decode()


def test_a_cited_result_is_listed_on_the_results_page() -> None:
    community = CommunityFactory(small_group_threshold=2)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for worked in ["day", "night"] * 10:  # 10 each: citable (published threshold 10)
        answer(survey, shift=worked, disciplined="no")
    other = make_survey(community, status=Survey.Status.OPEN)
    client = signed_in(OrganiserFactory(community=community).user)
    url = reverse("surveys:results", kwargs={"slug": community.slug, "pk": survey.pk})
    assert "Cited as evidence" not in client.get(url).content.decode()
    shift = survey.questions.get(name="shift")
    cite = reverse(
        "surveys:cite", kwargs={"slug": community.slug, "pk": survey.pk, "question": shift.pk}
    )
    response = client.post(cite)
    assert response["Location"].endswith("#citations")
    page = client.get(url).content.decode()
    assert "Cited as evidence" in page
    assert "“Scanner survey: Shift” — 20 people answered" in page
    # Another survey's page lists only its own.
    other_url = reverse("surveys:results", kwargs={"slug": community.slug, "pk": other.pk})
    assert "Cited as evidence" not in client.get(other_url).content.decode()


def test_text_answers_of_a_question_few_people_answered_are_held_back_from_members() -> None:
    """A question shown only to night workers: its answers, even approved, would say how
    many night workers there are, which the table hides. Members see them once at least
    the threshold of people have answered; organisers always, with a notice."""
    from sayso.surveys.models import Question

    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    Question.objects.filter(survey=survey, name="story").update(relevant="${shift} = 'night'")
    for _ in range(6):
        answer(survey, shift="day", disciplined="yes")
    for i in range(2):
        answer(survey, shift="night", disciplined="yes", story=f"night story {i}")
    for each in Answer.objects.filter(survey=survey).exclude(text=""):
        services.approve_answer(answer=each)
    close(survey)  # members read the figures once the survey is closed
    url = reverse("surveys:results", kwargs={"slug": community.slug, "pk": survey.pk})
    member = signed_in(MembershipFactory(community=community).user)
    page = member.get(url).content.decode()
    assert "night story" not in page
    # The shift table hides the 2 night workers, so the question asked only of them is
    # withheld whole (test_skip_logic_disclosure.py).
    assert "This question was asked only of people who gave certain answers to" in page
    organiser = signed_in(OrganiserFactory(community=community).user)
    page = organiser.get(url).content.decode()
    assert page.count("<li><bdi>night story") == 2  # (each named again by its button)
    assert "Members will not see these answers, approved or not, until at least 5 have" in page
    published = organiser.get(url, {"audience": "published"}).content.decode()
    assert "night story" not in published  # the published threshold is 10
    # Five more night workers answer: seven people, and members read the approved ones.
    # (Five, not three: fewer answers between two closings keep the new figures from
    # members, test_closed_again.py.)
    services.set_status(survey=survey, status=Survey.Status.OPEN, actor=None)
    for i in range(2, 7):
        answer(survey, shift="night", disciplined="yes", story=f"night story {i}")
    close(survey)
    Answer.objects.filter(survey=survey, text="night story 4").update(approved=True)
    page = member.get(url).content.decode()
    assert [s for s in ("night story 0", "night story 1", "night story 4") if s in page] == [
        "night story 0",
        "night story 1",
        "night story 4",
    ]
    assert "night story 2" not in page  # not approved
    assert "so no answers are shown" not in page
    assert "Members will not see these answers" not in organiser.get(url).content.decode()


def test_only_organisers_are_offered_the_published_view() -> None:
    community = CommunityFactory(small_group_threshold=2)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for worked in ("day", "day", "night", "night"):
        answer(survey, shift=worked, disciplined="no")
    close(survey)  # members read the figures once the survey is closed
    url = reverse("surveys:results", kwargs={"slug": community.slug, "pk": survey.pk})
    member = signed_in(MembershipFactory(community=community).user)
    organiser = signed_in(OrganiserFactory(community=community).user)
    assert 'name="audience"' not in member.get(url).content.decode()
    assert 'name="audience"' in organiser.get(url).content.decode()


def test_citing_the_same_result_twice_keeps_one_citation() -> None:
    from sayso.core.models import Citation

    community = CommunityFactory(small_group_threshold=2)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for worked in ["day", "night"] * 10:
        answer(survey, shift=worked, disciplined="no")
    client = signed_in(OrganiserFactory(community=community).user)
    shift = survey.questions.get(name="shift")
    cite = reverse(
        "surveys:cite", kwargs={"slug": community.slug, "pk": survey.pk, "question": shift.pk}
    )
    client.post(cite)
    again = client.post(cite, follow=True)
    assert Citation.objects.count() == 1
    assert "This result, with these figures, is already cited." in again.content.decode()
    # New answers change the figures: that is a new citation, once the published
    # threshold of answers (10) separates them (test_results_over_time.py).
    for _ in range(10):
        answer(survey, shift="day", disciplined="no")
    close(survey)
    client.post(cite)
    assert Citation.objects.count() == 2


def test_a_result_with_hidden_figures_says_why_it_cannot_be_cited() -> None:
    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for worked in ["day"] * 8 + ["night"] * 2:
        answer(survey, shift=worked, disciplined="no")
    client = signed_in(OrganiserFactory(community=community).user)
    url = reverse("surveys:results", kwargs={"slug": community.slug, "pk": survey.pk})
    page = client.get(url, {"audience": "published"}).content.decode()
    assert "Not offered as evidence while some of its figures are hidden" in page
