# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""A browser reviewer's findings on surveys (review 11), each pinned by a test that
failed before its fix: the start page for members and previews, what "one response
per member" records and when it refuses, tiny numbers in rules, answers shown in
labels (${name}), forgetting unsent answers, text limits, weighted charts, the
organisers' and respondents' wording, and XLSForm errors."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from sayso.accounts.tests.factories import UserFactory
from sayso.analysis import odk_xpath
from sayso.core.models import AdvisorGrant, Role
from sayso.core.services import ServiceError
from sayso.core.tests.factories import CommunityFactory, MembershipFactory, signed_in
from sayso.surveys import logic, services, xlsform
from sayso.surveys.models import MemberParticipation, Question, Response, Survey
from sayso.surveys.tests.factories import make_survey, organiser_client, survey_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def members_survey(**fields: Any) -> Survey:
    return make_survey(
        CommunityFactory(name="Depot workers"),
        status=Survey.Status.OPEN,
        distribution=Survey.Distribution.MEMBERS,
        welcome="Tell us about the scanners.",
        privacy_notice="Only the organisers read the answers.",
        **fields,
    )


def send(survey: Survey, user: Any = None) -> None:
    response, _raw = services.start_response(survey=survey, language="en", user=user)
    services.save_page(response=response, answers={"shift": "day", "disciplined": "no"}, page=1)
    assert services.submit_response(response=response, user=user) == {}


# --------------------------------------------------------------------------- 1. members' start page


def test_a_member_gets_the_start_page_with_welcome_and_privacy_notice() -> None:
    survey = members_survey()
    member = MembershipFactory(community=survey.community).user
    client = signed_in(member)
    taken = client.post(survey_url("take", survey), {"language": "en"})
    # Not straight to page 1: to the start page, as link and code respondents get it.
    assert taken.status_code == 302
    assert taken["Location"] == f"{survey.public_url()}?lang=en"
    assert not Response.objects.exists()
    html = client.get(taken["Location"]).content.decode()
    assert "Tell us about the scanners." in html
    assert "<h2>Who sees your answers</h2>" in html
    assert "Only the organisers read the answers." in html
    assert "Sign in to answer" not in html
    start_form = rf'<form method="post" action="{re.escape(taken["Location"])}" novalidate>'
    assert re.search(start_form + r".*?>Start</button>", html, re.DOTALL)
    started = client.post(survey.public_url(), {"language": "en"})
    response = Response.objects.get()
    assert started["Location"].endswith("/p/0/")
    assert response.status == Response.Status.PARTIAL
    assert not response.is_preview


def test_a_members_only_start_page_speaks_to_who_is_reading_it() -> None:
    survey = members_survey()
    community = survey.community
    anonymous = Client().get(survey.public_url()).content.decode()
    assert "Sign in to answer" in anonymous
    # Someone signed in who is not a member (an advisor, say) is told who can answer.
    advisor = UserFactory(is_advisor=True)
    AdvisorGrant.objects.create(community=community, advisor=advisor)
    for outsider in (advisor, UserFactory()):
        client = signed_in(outsider)
        html = client.get(survey.public_url()).content.decode()
        assert "Only members of Depot workers can answer this survey." in html
        assert "Sign in to answer" not in html
        assert ">Start</button>" not in html
        client.post(survey.public_url(), {"language": "en"})
    assert not Response.objects.exists()


# --------------------------------------------------------------------------- 2. one answer per member


def test_the_privacy_notice_says_what_one_response_per_member_records() -> None:
    survey = members_survey(one_response_per_member=True)
    member = MembershipFactory(community=survey.community).user
    html = signed_in(member).get(survey.public_url()).content.decode()
    assert "Sayso records that you answered, but not when, and never which answers" in html
    assert "We do not record your name" not in html
    # Without the option nothing is recorded, and the notice says so.
    Survey.objects.filter(pk=survey.pk).update(one_response_per_member=False)
    html = signed_in(member).get(survey.public_url()).content.decode()
    assert "We do not record your name" in html
    assert "records that you answered" not in html


def test_on_a_link_survey_only_the_signed_in_are_told_they_are_recorded() -> None:
    survey = make_survey(
        CommunityFactory(), status=Survey.Status.OPEN, one_response_per_member=True
    )
    member = MembershipFactory(community=survey.community).user
    html = signed_in(member).get(survey.public_url()).content.decode()
    assert "You are signed in, and each signed-in member answers this survey once." in html
    anonymous = Client().get(survey.public_url()).content.decode()
    assert "We do not record your name" in anonymous
    assert "records that you answered" not in anonymous


def test_a_member_who_answered_is_refused_at_the_start_not_after_typing() -> None:
    survey = members_survey(one_response_per_member=True)
    member = MembershipFactory(community=survey.community).user
    send(survey, member)
    before = Response.objects.count()
    client = signed_in(member)
    html = client.get(survey.public_url()).content.decode()
    assert "You have already answered this survey. Thank you." in html
    assert ">Start</button>" not in html
    refused = client.post(survey.public_url(), {"language": "en"})
    assert refused.status_code == 200
    assert "You have already answered this survey. Thank you." in refused.content.decode()
    taken = client.post(survey_url("take", survey), {"language": "en"})
    assert taken["Location"] == survey_url("detail", survey)
    assert Response.objects.count() == before
    assert MemberParticipation.objects.count() == 1


def test_on_a_link_survey_a_signed_in_member_who_answered_is_refused_at_the_start() -> None:
    survey = make_survey(
        CommunityFactory(), status=Survey.Status.OPEN, one_response_per_member=True
    )
    member = MembershipFactory(community=survey.community).user
    client = signed_in(member)
    client.post(survey.public_url(), {"language": "en"})
    response = Response.objects.get()
    services.save_page(response=response, answers={"shift": "day", "disciplined": "no"}, page=1)
    assert services.submit_response(response=response, user=member) == {}
    before = Response.objects.count()
    refused = client.post(survey.public_url(), {"language": "en"})
    assert refused.status_code == 200
    assert "You have already answered this survey. Thank you." in refused.content.decode()
    assert Response.objects.count() == before
    # Someone not signed in is not limited.
    assert Client().post(survey.public_url(), {"language": "en"}).status_code == 302


def test_the_builder_explains_the_option_on_a_link_survey() -> None:
    survey = make_survey(CommunityFactory())
    html = organiser_client(survey).get(survey_url("edit", survey)).content.decode()
    assert "people who are not signed in are not limited" in html


# --------------------------------------------------------------------------- 3. tiny and huge numbers


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (0.0000001, "0.0000001"),
        (1e20, "100000000000000000000"),
        (123456789012345.0, "123456789012345"),
        (2.5e-12, "0.0000000000025"),
        (0.1, "0.1"),
    ],
)
def test_tiny_and_large_numbers_pass_number_rules(value: float, written: str) -> None:
    assert odk_xpath.evaluate(". > 0", {}, value) is True
    assert odk_xpath.evaluate("${x} > 0", {"x": value}) is True
    assert odk_xpath.evaluate(". < 0", {}, value) is False
    # Written out without an exponent, as ODK does, wherever a number becomes text.
    assert odk_xpath.evaluate("string(${x})", {"x": value}) == written
    assert odk_xpath.evaluate("concat('', ${x} * 1)", {"x": value}) == written
    assert odk_xpath.evaluate("string-length(.)", {}, value) == len(written)


def test_a_tiny_answer_is_accepted_by_a_rule_and_brings_up_a_question() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    Question.objects.filter(survey=survey, name="age").update(constraint=". > 0")
    age = Question.objects.get(survey=survey, name="age")
    follow = Question(name="follow", type=Question.Type.SHORT_TEXT, relevant="${age} > 0")
    assert logic.check_answer(age, 0.0000001, {"age": 0.0000001}, "en", "en") is None
    assert logic.is_relevant(follow, {"age": 0.0000001})
    assert logic.is_relevant(follow, {"age": 1e20})


# --------------------------------------------------------------------------- 4. ${name} in labels


def workbook(rows: list[list[str]], choices: list[list[str]] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    for row in rows:
        sheet.append(row)
    if choices is not None:
        sheet = book.create_sheet("choices")
        for row in choices:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


SITES = [
    ["list_name", "name", "label"],
    ["site", "north", "North <depot>"],
    ["site", "south", "South depot"],
]


def test_an_imported_label_shows_the_earlier_answer_on_the_page_and_the_check_page() -> None:
    data = workbook(
        [
            ["type", "name", "label", "hint"],
            ["select_multiple site", "site", "Where do you work?"],
            ["integer", "years", "Years worked at ${site}", "Count your years at ${site}."],
            ["text", "note_it", "Anything about ${years} years?"],
        ],
        SITES,
    )
    community = CommunityFactory()
    survey = xlsform.import_xlsform(data=data, community=community, actor=None)
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.OPEN)
    survey.refresh_from_db()
    response, raw = services.start_response(survey=survey, language="en")
    services.save_page(response=response, answers={"site": ["north", "south"]}, page=0)
    client = Client()
    html = client.get(reverse("surveys_public:page", kwargs={"token": raw, "page": 0})).content
    page = html.decode()
    # The choices' labels, joined with commas, escaped: never the literal ${site}.
    assert "Years worked at North &lt;depot&gt;, South depot" in page
    assert "Count your years at North &lt;depot&gt;, South depot." in page
    assert "${site}" not in page
    assert "Anything about … years?" in page  # not answered yet: a gap, not "about  years"
    services.save_page(response=response, answers={"site": ["south"], "years": 4}, page=0)
    check = client.get(reverse("surveys_public:check", kwargs={"token": raw})).content.decode()
    assert "Years worked at South depot" in check
    assert "Anything about 4 years?" in check


def test_an_import_refuses_a_label_naming_no_earlier_question() -> None:
    data = workbook(
        [
            ["type", "name", "label"],
            ["integer", "years", "Years worked at ${site}"],
            ["select_one site", "site", "Where do you work?"],
        ],
        SITES,
    )
    problems = xlsform.check_workbook(data)
    assert (
        "survey sheet, row 2: the label or hint shows ${site}, but no question before this"
        " row has the name 'site'. Refer only to questions asked earlier, by their name."
    ) in problems
    community = CommunityFactory()
    with pytest.raises(xlsform.XLSFormError):
        xlsform.import_xlsform(data=data, community=community, actor=None)
    assert not Survey.objects.exists()


def test_the_builder_refuses_a_label_naming_no_earlier_question() -> None:
    survey = make_survey(CommunityFactory())
    first = survey.sections.order_by("order").first()
    assert first is not None
    before = list(survey.questions.values_list("name", flat=True))
    client = organiser_client(survey)
    page = client.post(
        survey_url("question-create", survey, section=first.pk),
        {"label": "Years at ${story}?", "name": "years", "type": "number"},
    )
    assert page.status_code == 200
    assert any(
        "${story} is not the short name of an earlier question" in e
        for e in page.context["form"].errors["label"]
    )
    assert list(survey.questions.values_list("name", flat=True)) == before
    # An earlier one is fine, and then that question cannot be deleted from under it.
    client.post(
        survey_url("question-create", survey, section=first.pk),
        {"label": "Years on ${shift}?", "name": "years", "type": "number"},
    )
    years = survey.questions.get(name="years")
    shift = survey.questions.get(name="shift")
    with pytest.raises(ServiceError):
        services.delete_question(question=shift)
    assert survey.questions.filter(pk=shift.pk).exists()
    assert years.pk


# --------------------------------------------------------------------------- 5. shared phones


def test_the_first_page_warns_about_shared_phones_and_offers_to_forget() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    client = Client()
    first = client.post(survey.public_url(), {"language": "en"})["Location"]
    html = client.get(first).content.decode()
    assert "Your answers are kept under this page" in html
    assert "On a shared phone, close the tab when you stop" in html
    assert 'id="forget-link"' in html
    client.post(first, {"q_shift": "night"})
    second = client.get(first.replace("/p/0/", "/p/1/")).content.decode()
    assert "until you send them" not in second  # said once, on the first page
    assert 'id="forget-link"' in second


def test_forget_my_answers_asks_first_then_deletes_the_unsent_response() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    response, raw = services.start_response(survey=survey, language="en")
    services.save_page(response=response, answers={"shift": "night"}, page=0)
    forget = reverse("surveys_public:forget", kwargs={"token": raw})
    client = Client()
    asked = client.get(forget).content.decode()
    assert "Forget your answers?" in asked
    assert "invitation code" not in asked
    assert Response.objects.filter(pk=response.pk).exists()  # a GET deletes nothing
    done = client.post(forget)
    assert "Your answers are forgotten" in done.content.decode()
    assert not Response.objects.filter(pk=response.pk).exists()
    page = client.get(reverse("surveys_public:page", kwargs={"token": raw, "page": 0}))
    assert page.status_code == 404  # the link has ended


def test_no_respondent_page_is_kept_in_the_browser_cache() -> None:
    """On a shared phone, Back after "Forget my answers" showed the answers again from
    the cache: every respondent page says no-store."""
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    client = Client()
    start = client.get(survey.public_url())
    first = client.post(survey.public_url(), {"language": "en"})["Location"]
    client.post(first, {"q_shift": "night"})
    token = first.split("/r/")[1].split("/")[0]
    pages = [
        start,
        client.get(first),
        client.get(reverse("surveys_public:check", kwargs={"token": token})),
        client.get(reverse("surveys_public:forget", kwargs={"token": token})),
    ]
    for answered in pages:
        assert answered.status_code == 200
        assert "no-store" in answered["Cache-Control"]
        assert "private" in answered["Cache-Control"]
    # The check page, the last before the phone is handed on, offers forgetting too.
    assert 'id="forget-link"' in pages[2].content.decode()


def test_forgetting_says_a_code_stays_used() -> None:
    survey = make_survey(CommunityFactory(), distribution=Survey.Distribution.CODES)
    _batch, codes = services.create_codes(survey=survey, actor=None, size=1)
    services.set_status(survey=survey, status=Survey.Status.OPEN, actor=None)
    client = Client()
    code_page = reverse("surveys_public:code", kwargs={"link": survey.link_token})
    first = client.post(code_page, {"code": codes[0]})["Location"]
    html = client.get(first).content.decode()
    assert "until you send them" in html
    # The shared-phone warning does not point a code holder to forgetting as a way out.
    assert "your code cannot start the survey again" in html
    assert "close the tab when you stop, or use" not in html
    token = first.split("/r/")[1].split("/")[0]
    forget = reverse("surveys_public:forget", kwargs={"token": token})
    assert "Your invitation code stays used" in client.get(forget).content.decode()
    assert "Your invitation code stays used" in client.post(forget).content.decode()
    assert not Response.objects.exists()
    again = client.post(code_page, {"code": codes[0]})
    assert again.status_code == 200
    assert not Response.objects.exists()


def test_unsent_answers_go_30_days_after_the_survey_closed() -> None:
    community = CommunityFactory()
    old = make_survey(community, status=Survey.Status.OPEN)
    recent = make_survey(community, status=Survey.Status.OPEN)
    still_open = make_survey(community, status=Survey.Status.OPEN)
    for survey in (old, recent, still_open):
        send(survey)
        services.start_response(survey=survey, language="en")
    for survey in (old, recent):
        services.set_status(survey=survey, status=Survey.Status.CLOSED, actor=None)
        survey.refresh_from_db()
        assert survey.closed_on is not None
    today = dt.date.today()
    Survey.objects.filter(pk=old.pk).update(closed_on=today - dt.timedelta(days=30))
    Survey.objects.filter(pk=recent.pk).update(closed_on=today - dt.timedelta(days=29))
    assert services.UNSENT_KEPT_DAYS == 30
    assert services.forget_unsent_responses(today=today) == 1
    left = Response.objects.values_list("survey_id", "status")
    assert sorted(left) == sorted(
        [
            (old.pk, Response.Status.COMPLETE),
            (recent.pk, Response.Status.COMPLETE),
            (recent.pk, Response.Status.PARTIAL),
            (still_open.pk, Response.Status.COMPLETE),
            (still_open.pk, Response.Status.PARTIAL),
        ]
    )
    # Opened again, a survey keeps its unsent answers: its closing date is cleared.
    services.set_status(survey=recent, status=Survey.Status.OPEN, actor=None)
    recent.refresh_from_db()
    assert recent.closed_on is None


# --------------------------------------------------------------------------- 6. text limits


def test_text_boxes_stop_at_the_server_s_limit() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    Question.objects.filter(survey=survey, name="age").update(
        type=Question.Type.SHORT_TEXT, constraint=""
    )
    _response, raw = services.start_response(survey=survey, language="en")
    client = Client()
    first = client.get(
        reverse("surveys_public:page", kwargs={"token": raw, "page": 0})
    ).content.decode()
    assert re.search(r'<input type="text"[^>]*name="q_age"[^>]*maxlength="500"', first)
    client.post(
        reverse("surveys_public:page", kwargs={"token": raw, "page": 0}), {"q_shift": "day"}
    )
    Response.objects.filter(resume_digest__isnull=False).update(
        draft={"shift": "day", "disciplined": "yes"}
    )
    second = client.get(
        reverse("surveys_public:page", kwargs={"token": raw, "page": 1})
    ).content.decode()
    assert re.search(r'<textarea name="q_story"[^>]*maxlength="5000"', second)
    assert logic.LONG_TEXT_LIMIT == 5000
    assert logic.SHORT_TEXT_LIMIT == 500


# --------------------------------------------------------------------------- 7. weighted charts


def test_charts_carry_the_weighting_the_tables_show() -> None:
    community = CommunityFactory(small_group_threshold=2)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for shift, n in (("day", 6), ("night", 4)):
        for i in range(n):
            response, _raw = services.start_response(survey=survey, language="en")
            services.save_page(
                response=response,
                answers={"shift": shift, "disciplined": "yes" if i % 2 else "no"},
                page=1,
            )
            assert services.submit_response(response=response) == {}
    shift_q = survey.questions.get(name="shift")
    services.set_weighting_targets(
        survey=survey, question=shift_q, population={"day": 100, "night": 300}
    )
    client = organiser_client(survey)
    page = client.get(survey_url("results", survey), {"weighted": "1"})
    assert "weighted=1" in page.context["chart_query"]
    assert "Bar chart of the weighted percentages in the table above" in page.content.decode()
    unweighted = client.get(survey_url("results", survey))
    assert "weighted" not in unweighted.context["chart_query"]
    chart = survey_url("chart", survey, question=shift_q.pk)
    plain = client.get(chart, {"audience": "members"}).content.decode()
    weighted = client.get(chart, {"audience": "members", "weighted": "1"}).content.decode()
    # 6 day and 4 night unweighted; weighted to the population, 25% and 75%.
    assert "Day: 60%" in plain
    assert "Night: 40%" in plain
    assert "Day: 25%" in weighted
    assert "Night: 75%" in weighted


# --------------------------------------------------------------------------- 8. wording


def test_a_required_consent_everyone_agreed_to_is_said_in_words() -> None:
    community = CommunityFactory(small_group_threshold=2)
    survey = make_survey(community, status=Survey.Status.OPEN)
    Question.objects.create(
        survey=survey,
        section=survey.sections.order_by("order").last(),
        order=9,
        name="agree",
        type=Question.Type.CONSENT,
        label={"en": "I agree"},
        required=True,
    )
    for _ in range(3):
        response, _raw = services.start_response(survey=survey, language="en")
        services.save_page(
            response=response, answers={"shift": "day", "disciplined": "no", "agree": "yes"}, page=1
        )
        assert services.submit_response(response=response) == {}
    services.set_status(survey=survey, status=Survey.Status.CLOSED, actor=None)
    html = organiser_client(survey).get(survey_url("results", survey)).content.decode()
    assert (
        "3 people answered. Everyone who answered agreed: agreeing was required to take part."
        in html
    )
    assert "Did not agree" not in html


def test_adding_a_language_asks_for_one_code() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    client.post(survey_url("language-add", survey), {"language": "en pl"})
    html = client.get(survey_url("detail", survey)).content.decode()
    assert "Give one language code" in html
    assert "separated by spaces" not in html
    survey.refresh_from_db()
    assert survey.languages == ["en"]


def test_deleting_an_answered_question_is_refused_in_the_builder_s_words() -> None:
    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    send(survey)
    refusal = services.question_delete_refusal(survey.questions.get(name="shift"))
    assert refusal is not None
    assert "set 'Show only if'" not in str(refusal)
    assert "under “Write the rule yourself”, write false() as the rule" in str(refusal)


def test_a_rule_without_a_message_is_kept_in_the_builder_and_in_an_import() -> None:
    # Session 11 asked the builder for a message with every rule; an imported rule often
    # has none, and then its question could not be saved unchanged. Both now keep a rule
    # without one: respondents read logic.RULE_NOT_FOLLOWED.
    survey = make_survey(CommunityFactory())
    age = survey.questions.get(name="age")
    client = organiser_client(survey)
    page = client.post(
        survey_url("question-edit", survey, question=age.pk),
        {"label": "Age", "name": "age", "type": "number", "constraint": ". >= 16"},
    )
    assert page.status_code == 302
    age.refresh_from_db()
    assert age.constraint == ". >= 16"
    assert not any(str(text).strip() for text in (age.constraint_message or {}).values())
    saved = client.post(
        survey_url("question-edit", survey, question=age.pk),
        {
            "label": "Age",
            "name": "age",
            "type": "number",
            "constraint": ". >= 18",
            "constraint_message": "Give an age of 18 or more.",
        },
    )
    assert saved.status_code == 302
    age.refresh_from_db()
    assert age.constraint == ". >= 18"
    assert age.constraint_message == {"en": "Give an age of 18 or more."}
    data = workbook([["type", "name", "label", "constraint"], ["integer", "n", "N", ". > 0"]])
    imported = xlsform.import_xlsform(data=data, community=CommunityFactory(), actor=None)
    assert imported.questions.get().constraint == ". > 0"


def test_cross_tab_headings_say_split_by_and_members_are_not_sent_to_lists() -> None:
    community = CommunityFactory(small_group_threshold=2)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for shift in ("day", "day", "night", "night"):
        response, _raw = services.start_response(survey=survey, language="en")
        services.save_page(response=response, answers={"shift": shift, "disciplined": "no"}, page=1)
        assert services.submit_response(response=response) == {}
    services.set_status(survey=survey, status=Survey.Status.CLOSED, actor=None)
    Question.objects.filter(survey=survey, name="shift").update(label={"en": "Which shift?"})
    organiser = organiser_client(survey).get(survey_url("results", survey), {"by": "shift"})
    assert "Split by: Which shift?" in organiser.content.decode()
    assert "By Which shift?" not in organiser.content.decode()
    member = signed_in(MembershipFactory(community=community, role=Role.MEMBER).user)
    page = member.get(survey_url("results", survey), {"by": "nothing"})
    html = page.content.decode()
    if page.context["breakdowns"]:
        assert "offered in the lists above" in html
    else:
        assert "offered in the lists above" not in html
        assert "These results cannot be narrowed or broken down for you" in html


# --------------------------------------------------------------------------- 9. XLSForm errors


def test_a_missing_end_group_is_named_where_the_group_starts() -> None:
    data = workbook(
        [
            ["type", "name", "label"],
            ["begin_group", "about", "About you"],
            ["integer", "age", "Age"],
            ["begin_group", "work", "Work"],
            ["integer", "years", "Years"],
            ["end_group", "", ""],
        ]
    )
    problems = xlsform.check_workbook(data)
    assert problems == [
        "survey sheet, row 2: the group that starts here has no end_group row. Add an"
        " end_group row after its last question."
    ]
    # A real group inside a group is still named as such.
    nested = workbook(
        [
            ["type", "name", "label"],
            ["begin_group", "about", "About you"],
            ["begin_group", "work", "Work"],
            ["integer", "years", "Years"],
            ["end_group", "", ""],
            ["end_group", "", ""],
        ]
    )
    assert any("groups inside groups" in p for p in xlsform.check_workbook(nested))


def test_a_missing_choices_sheet_is_reported_once() -> None:
    data = workbook(
        [
            ["type", "name", "label"],
            ["select_one shift", "shift", "Shift"],
            ["select_multiple worry", "worries", "Worries"],
            ["rank worry", "ranked", "Ranked"],
        ]
    )
    problems = xlsform.check_workbook(data)
    assert problems == [
        "The 'choices' sheet is missing: the choice questions (survey sheet, rows 2, 3, 4)"
        " take their options from it."
    ]


# --------------------------------------------------------------------------- 10. preview


def test_an_organiser_previews_the_start_page() -> None:
    survey = make_survey(
        CommunityFactory(), welcome="Why we ask.", privacy_notice="Organisers only."
    )  # a draft
    client = organiser_client(survey)
    detail = client.get(survey_url("detail", survey)).content.decode()
    assert f'<form method="get" action="{survey.public_url()}"' in detail
    html = client.get(survey.public_url(), {"preview": "1", "lang": "en"}).content.decode()
    assert "Why we ask." in html
    assert "Organisers only." in html
    assert "this is the start page people see" in html
    assert f'action="{survey_url("preview", survey)}"' in html
    assert "not taking answers" not in html
    started = client.post(survey_url("preview", survey), {"language": "en"})
    assert started["Location"].endswith("/p/0/")
    assert Response.objects.get().is_preview
    # Anyone else asking for a preview gets the ordinary start page.
    member = signed_in(MembershipFactory(community=survey.community).user)
    ordinary = member.get(survey.public_url(), {"preview": "1"}).content.decode()
    assert "this is the start page people see" not in ordinary
    assert survey_url("preview", survey) not in ordinary
    assert "not taking answers" in ordinary


def test_a_label_showing_an_answer_on_the_same_page_follows_it_as_it_is_typed() -> None:
    """With JavaScript, choosing the site fills in "Years worked at ${site}" on the same
    page (the live request that shows follow-up questions); without, it reads "at …"
    until the page is sent."""
    data = workbook(
        [
            ["type", "name", "label"],
            ["select_one site", "site", "Where do you work?"],
            ["integer", "years", "Years worked at ${site}"],
        ],
        SITES,
    )
    survey = xlsform.import_xlsform(data=data, community=CommunityFactory(), actor=None)
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.OPEN)
    survey.refresh_from_db()
    _response, raw = services.start_response(survey=survey, language="en")
    url = reverse("surveys_public:page", kwargs={"token": raw, "page": 0})
    client = Client()
    assert "Years worked at …" in client.get(url).content.decode()
    live = client.post(
        url,
        {"live": "1", "q_site": "south", logic.SHOWN_FIELD: ["site", "years"]},
        HTTP_HX_REQUEST="true",
    )
    assert live.status_code == 200
    html = live.content.decode()
    assert "Years worked at South depot" in html
    assert "appeared" not in html  # a label filled in is no new question
    assert "no longer apply" not in html


def test_a_code_typed_with_a_space_between_every_letter_is_taken() -> None:
    survey = make_survey(CommunityFactory(), distribution=Survey.Distribution.CODES)
    _batch, codes = services.create_codes(survey=survey, actor=None, size=1)
    services.set_status(survey=survey, status=Survey.Status.OPEN, actor=None)
    spaced = " ".join(codes[0].lower())  # the dash too: "a b c d e - f g h 2 3"
    assert len(spaced) > 20
    code_page = reverse("surveys_public:code", kwargs={"link": survey.link_token})
    answered = Client().post(code_page, {"code": spaced})
    assert answered.status_code == 302
    assert Response.objects.filter(survey=survey).count() == 1


def test_exporting_one_response_is_logged_in_the_singular() -> None:
    from sayso.core.models import AuditEvent

    survey = make_survey(CommunityFactory())
    services.audit_export(survey=survey, actor="Rosa", fmt="csv", rows=1)
    services.audit_export(survey=survey, actor="Rosa", fmt="csv", rows=2)
    summaries = list(AuditEvent.objects.order_by("pk").values_list("summary", flat=True))
    assert "Rosa exported 1 response to" in summaries[-2]
    assert "Rosa exported 2 responses to" in summaries[-1]


def test_a_survey_link_is_capitals_and_digits_and_opens_typed_in_small_letters() -> None:
    from sayso.core.models import CODE_ALPHABET
    from sayso.surveys.models import DefinitionRevision

    survey = make_survey(CommunityFactory(), status=Survey.Status.OPEN)
    assert len(survey.link_token) == 18
    assert set(survey.link_token) <= set(CODE_ALPHABET)
    # The revision row a new survey gets from its trigger (kept through migration 0016).
    assert DefinitionRevision.objects.filter(survey=survey).exists()
    typed = survey.public_url().replace(survey.link_token, survey.link_token.lower())
    assert Client().get(typed).status_code == 200
    made_up = survey.public_url().replace(survey.link_token, "NOSUCHLINK23456789")
    assert Client().get(made_up).status_code == 404
    assert Client().get(made_up.lower()).status_code == 404
