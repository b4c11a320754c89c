# mypy: disable-error-code="no-untyped-call,arg-type"
"""A survey closed, opened again and closed a few answers later.

Members read a closed survey's figures. Opened again for latecomers and closed after
only two more answers, its new figures next to the ones members read before ("10 day,
10 night", then "10 day, 12 night") would tell members what those two said. So members
keep seeing only the count until at least the community's threshold of answers
separates the two closings; organisers still read everything, with a notice saying why
members don't.
"""

from __future__ import annotations

import pytest
from django.test import Client

from sayso.core.tests.factories import (
    CommunityFactory,
    MembershipFactory,
    OrganiserFactory,
    signed_in,
)
from sayso.surveys import selectors, services
from sayso.surveys.models import Survey

from .factories import answer, close, make_survey, survey_url

pytestmark = pytest.mark.django_db

MEMBERS_NOTE = "results were last shown or cited as evidence: fewer than"
ORGANISERS_NOTICE = "Members do not see these figures"


def twenty_answered_and_closed() -> Survey:
    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for worked in ["day", "night"] * 10:
        answer(survey, shift=worked, disciplined="no")
    return close(survey)


def reopen(survey: Survey) -> Survey:
    return services.set_status(survey=survey, status=Survey.Status.OPEN, actor=None)


def client_for(factory: type, survey: Survey) -> Client:
    return signed_in(factory(community=survey.community).user)


def test_members_see_the_first_closings_figures() -> None:
    survey = twenty_answered_and_closed()
    survey.refresh_from_db()
    assert (survey.figures_shown_for, survey.figures_withheld_since_shown) == (20, False)
    html = client_for(MembershipFactory, survey).get(survey_url("results", survey))
    assert html.context["results"].respondents == 20
    assert MEMBERS_NOTE not in html.content.decode()


def test_closed_again_two_answers_later_members_see_only_the_count() -> None:
    survey = twenty_answered_and_closed()
    reopen(survey)
    answer(survey, shift="night", disciplined="yes")
    answer(survey, shift="night", disciplined="yes")
    close(survey)
    survey.refresh_from_db()
    assert (survey.figures_shown_for, survey.figures_withheld_since_shown) == (20, True)

    member = client_for(MembershipFactory, survey)
    url = survey_url("results", survey)
    for query in ({}, {"audience": "published"}, {"only": "shift:night"}, {"by": "shift"}):
        page = member.get(url, query)
        html = page.content.decode()
        assert page.status_code == 200
        assert "22 people have answered." in html
        assert MEMBERS_NOTE in html
        assert "fewer than 5" in html
        assert "results" not in page.context  # nothing counted for this reader
        assert "chart.svg" not in html
    chart = member.get(survey_url("chart", survey, question=survey.questions.get(name="shift").pk))
    assert b"These results are not shown to members at the moment." in chart.content
    assert b">Night<" not in chart.content

    organiser = client_for(OrganiserFactory, survey)
    page = organiser.get(url)
    html = page.content.decode()
    assert page.context["results"].respondents == 22
    assert ORGANISERS_NOTICE in html
    assert MEMBERS_NOTE not in html


def test_enough_answers_after_opening_again_show_the_new_figures() -> None:
    survey = twenty_answered_and_closed()
    reopen(survey)
    answer(survey, shift="night", disciplined="yes")
    close(survey)  # one answer later: withheld
    reopen(survey)
    for worked in ["day", "night"] * 2:
        answer(survey, shift=worked, disciplined="no")
    close(survey)  # five answers since members last read the figures (at 20)
    survey.refresh_from_db()
    assert (survey.figures_shown_for, survey.figures_withheld_since_shown) == (25, False)
    page = client_for(MembershipFactory, survey).get(survey_url("results", survey))
    assert page.context["results"].respondents == 25
    assert MEMBERS_NOTE not in page.content.decode()


def test_closed_again_with_no_new_answers_shows_the_same_figures() -> None:
    survey = twenty_answered_and_closed()
    reopen(survey)
    close(survey)
    survey.refresh_from_db()
    assert (survey.figures_shown_for, survey.figures_withheld_since_shown) == (20, False)
    assert selectors.withheld_because(survey, can_organise=False) is None


def test_closing_warns_the_organiser_when_members_will_not_see_the_new_results() -> None:
    survey = twenty_answered_and_closed()
    reopen(survey)
    answer(survey, shift="night", disciplined="yes")
    organiser = client_for(OrganiserFactory, survey)
    page = organiser.post(
        survey_url("status", survey), {"status": Survey.Status.CLOSED}, follow=True
    )
    html = page.content.decode()
    assert "Members will not see the new results yet" in html
    # The first closing gives no such warning.
    other = make_survey(survey.community, status=Survey.Status.OPEN)
    page = organiser.post(
        survey_url("status", other), {"status": Survey.Status.CLOSED}, follow=True
    )
    assert "Members will not see the new results yet" not in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_what_members_already_read_of_closed_surveys() -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from sayso.surveys.models import DefinitionRevision

    closed = twenty_answered_and_closed()
    still_open = make_survey(closed.community, status=Survey.Status.OPEN)
    answer(still_open, shift="day", disciplined="no")
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("surveys")
    try:
        MigrationExecutor(connection).migrate([("surveys", "0011_choice_exclusive")])
        MigrationExecutor(connection).migrate(latest)
    finally:
        MigrationExecutor(connection).migrate(latest)  # whatever happened, as it was
    shown = dict(Survey.objects.values_list("pk", "figures_shown_for"))
    assert shown == {closed.pk: 20, still_open.pk: None}
    assert not Survey.objects.filter(figures_withheld_since_shown=True).exists()
    # The definition revision trigger on new surveys survived the new columns.
    made = make_survey(closed.community)
    assert DefinitionRevision.objects.filter(survey=made).exists()


# --------------------------------------------------------------------------- found by review


def test_a_survey_made_closed_counts_what_members_read_when_opened_again() -> None:
    """The demo's closed survey is created closed, with no count of what members read:
    opened again, it takes the count there is, so closing two answers later withholds."""
    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for worked in ["day", "night"] * 10:
        answer(survey, shift=worked, disciplined="no")
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.CLOSED)  # as seeds do
    survey.refresh_from_db()
    assert survey.figures_shown_for is None
    reopen(survey)
    survey.refresh_from_db()
    assert survey.figures_shown_for == 20
    answer(survey, shift="night", disciplined="yes")
    answer(survey, shift="night", disciplined="yes")
    close(survey)
    survey.refresh_from_db()
    assert survey.figures_withheld_since_shown
    page = client_for(MembershipFactory, survey).get(survey_url("results", survey))
    assert MEMBERS_NOTE in page.content.decode()


def citations() -> list[int]:
    from sayso.core.models import Citation

    return [c.snapshot["n"] for c in Citation.objects.order_by("pk")]


def test_no_result_is_cited_a_few_answers_from_what_members_read() -> None:
    """Withheld from members, the new figures must not reach them, or anyone, by a
    citation of another question either: 'Days 32, Nights 28' read by members and a
    citation 'Days 32, Nights 30' give the two newcomers' shifts."""
    survey = twenty_answered_and_closed()
    reopen(survey)
    answer(survey, shift="night", disciplined="no")
    answer(survey, shift="night", disciplined="no")
    organiser = client_for(OrganiserFactory, survey)
    shift = survey.questions.get(name="shift")
    cite = survey_url("cite", survey, question=shift.pk)
    for state in ("open", "closed"):
        if state == "closed":
            close(survey)
        refused = organiser.post(cite, follow=True).content.decode()
        assert "This survey&#x27;s results can&#x27;t be cited yet." in refused, state
        assert "Members were shown its figures when 20 people had answered, and 22" in refused
        assert citations() == []
    # Ten answers past what members read: cited.
    reopen(survey)
    for worked in ["day", "night"] * 4:
        answer(survey, shift=worked, disciplined="no")
    close(survey)
    cited = organiser.post(cite, follow=True).content.decode()
    assert "Result cited as evidence." in cited
    assert citations() == [30]


def test_citing_is_offered_only_where_the_cited_figures_are_shown() -> None:
    survey = twenty_answered_and_closed()
    organiser = client_for(OrganiserFactory, survey)
    url = survey_url("results", survey)
    members_view = organiser.get(url).content.decode()
    assert "Cite as evidence" not in members_view
    assert 'id="cite-note"' in members_view
    assert 'href="?audience=published"' in members_view
    published = organiser.get(url, {"audience": "published"}).content.decode()
    assert "Cite as evidence" in published
    assert 'id="cite-note"' not in published
    # Members are offered neither.
    member_page = client_for(MembershipFactory, survey).get(url).content.decode()
    assert "Cite as evidence" not in member_page
    assert 'id="cite-note"' not in member_page


def test_a_citation_made_while_open_counts_as_figures_members_can_compare() -> None:
    """Cited at 20 while open, closed at 22: the citation, listed on the members'
    results page, and the closed figures would give the two newcomers' answers."""
    community = CommunityFactory(small_group_threshold=5)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for worked in ["day", "night"] * 10:
        answer(survey, shift=worked, disciplined="no")
    organiser = client_for(OrganiserFactory, survey)
    organiser.post(survey_url("cite", survey, question=survey.questions.get(name="shift").pk))
    assert citations() == [20]
    answer(survey, shift="night", disciplined="yes")
    answer(survey, shift="night", disciplined="yes")
    close(survey)
    survey.refresh_from_db()
    assert survey.figures_withheld_since_shown
    page = client_for(MembershipFactory, survey).get(survey_url("results", survey))
    assert MEMBERS_NOTE in page.content.decode()
    assert "results" not in page.context
    # Far enough from the citation (five more): shown.
    reopen(survey)
    for worked in ["day", "night", "day"]:
        answer(survey, shift=worked, disciplined="no")
    close(survey)
    page = client_for(MembershipFactory, survey).get(survey_url("results", survey))
    assert page.context["results"].respondents == 25


def test_a_citation_records_how_many_had_answered_the_survey() -> None:
    survey = twenty_answered_and_closed()
    organiser = client_for(OrganiserFactory, survey)
    organiser.post(survey_url("cite", survey, question=survey.questions.get(name="shift").pk))
    from sayso.core.models import Citation

    cited = Citation.objects.get().snapshot
    assert (cited["n"], cited["responses"]) == (20, 20)


def test_the_organiser_is_told_before_closing_that_members_will_not_see_the_results() -> None:
    survey = twenty_answered_and_closed()
    reopen(survey)
    organiser = client_for(OrganiserFactory, survey)
    detail = survey_url("detail", survey)
    assert 'id="closing-withholds"' not in organiser.get(detail).content.decode()
    answer(survey, shift="night", disciplined="yes")  # one answer since members read 20
    page = organiser.get(detail).content.decode()
    assert 'id="closing-withholds"' in page
    assert "If you close the survey now, members will not see its new results" in page
    # Members are not told (they see no close button).
    member_page = client_for(MembershipFactory, survey).get(detail).content.decode()
    assert 'id="closing-withholds"' not in member_page
    for worked in ["day", "night", "day", "night"]:
        answer(survey, shift=worked, disciplined="no")  # five since: safe to close
    assert 'id="closing-withholds"' not in organiser.get(detail).content.decode()
