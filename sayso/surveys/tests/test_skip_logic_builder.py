# mypy: disable-error-code="no-untyped-call,arg-type,misc"
""" "Show only if" by choosing, not typing: the question form offers every answer of
the earlier choice questions and the earlier number questions, and stores exactly the
rule typing it would; respondents are then asked or not by it; what is not offered is
refused with a message and nothing changes; an edit opens with the stored rule chosen
(or written, when the choices cannot make it)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sayso.core.tests.factories import CommunityFactory
from sayso.surveys.forms import Condition, read_condition
from sayso.surveys.models import Answer, Choice, DefinitionRevision, Question, Response, Survey

from .factories import make_survey, organiser_client, survey_url

pytestmark = pytest.mark.django_db

# make_survey: page 1 holds shift (single: day, night) and age (number); page 2 holds
# disciplined (single: yes, no), worries (multiple: rates, cameras, sharing) and story
# (long text, shown only if ${disciplined} = 'yes').
NEW = {"label": "What happened after?", "name": "after", "type": "long_text"}


def create_url(survey: Survey, page: int) -> str:
    return survey_url("question-create", survey, section=survey.sections.get(order=page).pk)


def edit_url(survey: Survey, name: str) -> str:
    return survey_url("question-edit", survey, question=survey.questions.get(name=name).pk)


def state(survey: Survey) -> list[tuple[Any, ...]]:
    """Every question as stored, and the definition's revision."""
    rows: list[tuple[Any, ...]] = [
        (q.pk, q.name, q.type, q.label, q.relevant, q.section_id, q.order)
        for q in Question.objects.filter(survey=survey).order_by("pk")
    ]
    return [*rows, ("revision", DefinitionRevision.objects.get(survey=survey).n)]


def relevant(survey: Survey, name: str) -> str:
    return Question.objects.get(survey=survey, name=name).relevant


def with_rating(survey: Survey) -> Survey:
    """A rating question on page 1 whose choices are named by their place (1 to 3)."""
    Question.objects.create(
        survey=survey,
        section=survey.sections.get(order=1),
        order=3,
        name="fair",
        type=Question.Type.RATING,
        label={"en": "Is the scanner fair?"},
    )
    fair = survey.questions.get(name="fair")
    for order, text in enumerate(["Unfair", "Not sure", "Fair"], start=1):
        Choice.objects.create(question=fair, order=order, name=str(order), label={"en": text})
    return survey


# --------------------------------------------------------------------------- the rule stored


@pytest.mark.parametrize(
    ("chosen", "rule"),
    [
        ({"condition_answer": "shift:night", "condition_match": "is"}, "${shift} = 'night'"),
        # Without a choice of "gave" or "did not give", "gave" (the page's default).
        ({"condition_answer": "shift:night"}, "${shift} = 'night'"),
        ({"condition_answer": "shift:night", "condition_match": "is_not"}, "${shift} != 'night'"),
        (
            {"condition_answer": "worries:cameras", "condition_match": "is"},
            "selected(${worries}, 'cameras')",
        ),
        (
            {"condition_answer": "worries:cameras", "condition_match": "is_not"},
            "not(selected(${worries}, 'cameras'))",
        ),
        # A choice named by a number is still compared as the text it is stored as.
        ({"condition_answer": "fair:3", "condition_match": "is"}, "${fair} = '3'"),
        (
            {
                "condition_number_question": "age",
                "condition_comparison": ">=",
                "condition_number": "50",
            },
            "${age} >= 50",
        ),
        (
            {
                "condition_number_question": "age",
                "condition_comparison": "<=",
                "condition_number": " 2.5 ",
            },
            "${age} <= 2.5",
        ),
        (
            {
                "condition_number_question": "age",
                "condition_comparison": ">",
                "condition_number": "-3",
            },
            "${age} > -3",
        ),
        (
            {
                "condition_number_question": "age",
                "condition_comparison": "<",
                "condition_number": "1,000",
            },
            "${age} < 1000",
        ),
        (
            {
                "condition_number_question": "age",
                "condition_comparison": "=",
                "condition_number": "30",
            },
            "${age} = 30",
        ),
        (
            {
                "condition_number_question": "age",
                "condition_comparison": "!=",
                "condition_number": "30",
            },
            "${age} != 30",
        ),
    ],
)
def test_a_chosen_condition_stores_the_rule_typing_it_would(
    chosen: dict[str, str], rule: str
) -> None:
    survey = with_rating(make_survey(CommunityFactory()))
    client = organiser_client(survey)
    saved = client.post(create_url(survey, 2), NEW | chosen)
    assert saved.status_code == 302, saved.context["form"].errors
    assert relevant(survey, "after") == rule
    # Typed into the box instead, the same rule is stored.
    typed = client.post(create_url(survey, 2), NEW | {"name": "typed", "relevant": rule})
    assert typed.status_code == 302
    assert relevant(survey, "typed") == relevant(survey, "after")
    # And both are the one condition the form reads back.
    assert read_condition(rule) is not None
    assert read_condition(rule).expression == rule  # type: ignore[union-attr]


def test_choosing_nothing_asks_everyone_and_a_typed_rule_is_kept_as_typed() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    assert client.post(create_url(survey, 2), NEW).status_code == 302
    assert relevant(survey, "after") == ""
    rule = "${shift} = 'night' and ${age} >= 50"
    assert (
        client.post(create_url(survey, 2), NEW | {"name": "both", "relevant": rule}).status_code
        == 302
    )
    assert relevant(survey, "both") == rule


def test_the_same_rule_chosen_and_typed_is_stored_once_as_the_form_writes_it() -> None:
    survey = make_survey(CommunityFactory())
    post = NEW | {"condition_answer": "shift:night", "relevant": "${shift}='night'"}
    assert organiser_client(survey).post(create_url(survey, 2), post).status_code == 302
    assert relevant(survey, "after") == "${shift} = 'night'"


# --------------------------------------------------------------------------- respondents


def answer_in_full(survey: Survey, answers: dict[str, Any]) -> tuple[bool, list[str]]:
    """One person answers the open survey page by page through its link, giving
    `answers` (posted fields) on every page: whether any page asked "after", and which
    questions their sent response holds answers to."""
    client = Client()
    started = client.post(reverse("surveys_public:start", kwargs={"link": survey.link_token}))
    assert started.status_code == 302
    url, asked = str(started["Location"]), False
    while "/p/" in url:
        post = dict(answers)
        # Shown, not only on the page (hidden until an answer brings it up).
        if 'name="shown" value="after"' in client.get(url).content.decode():
            asked = True
            post["q_after"] = "I was moved to days."
        moved = client.post(url, post)
        assert moved.status_code == 302, moved.context and moved.context.get("errors")
        url = str(moved["Location"])
    sent = client.post(url)  # the check page: send
    assert sent.status_code == 302
    response = Response.objects.filter(survey=survey).order_by("-pk").first()
    assert response is not None
    assert response.status == Response.Status.COMPLETE
    names = Answer.objects.filter(response=response).values_list("question__name", flat=True)
    return asked, sorted(set(names))


DAY_40 = {"q_shift": "day", "q_age": "40", "q_disciplined": "no", "q_worries": ["rates"]}


@pytest.mark.parametrize(
    ("page", "chosen", "asks", "skips"),
    [
        (
            2,
            {"condition_answer": "shift:night", "condition_match": "is"},
            DAY_40 | {"q_shift": "night"},
            DAY_40,
        ),
        (
            2,
            {"condition_answer": "shift:night", "condition_match": "is_not"},
            DAY_40,
            DAY_40 | {"q_shift": "night"},
        ),
        (
            2,
            {
                "condition_number_question": "age",
                "condition_comparison": ">=",
                "condition_number": "50",
            },
            DAY_40 | {"q_age": "50"},
            DAY_40 | {"q_age": "49"},
        ),
        # On a third page, after the multiple choice question: asked of people who
        # ticked "cameras", whatever else they ticked.
        (
            3,
            {"condition_answer": "worries:cameras", "condition_match": "is"},
            DAY_40 | {"q_worries": ["rates", "cameras"]},
            DAY_40 | {"q_worries": ["rates", "sharing"]},
        ),
        (
            3,
            {"condition_answer": "worries:cameras", "condition_match": "is_not"},
            DAY_40,
            DAY_40 | {"q_worries": ["cameras"]},
        ),
    ],
)
def test_respondents_are_asked_or_not_by_the_chosen_condition(
    page: int, chosen: dict[str, str], asks: dict[str, Any], skips: dict[str, Any]
) -> None:
    survey = make_survey(CommunityFactory())
    survey.sections.create(order=3, title={"en": "Afterwards"})
    client = organiser_client(survey)
    assert client.post(create_url(survey, page), NEW | chosen).status_code == 302
    survey.status = Survey.Status.OPEN
    survey.save()
    asked, answered = answer_in_full(survey, asks)
    assert asked
    assert "after" in answered
    skipped, answered = answer_in_full(survey, skips)
    assert not skipped
    assert "after" not in answered
    assert "shift" in answered  # the rest was sent


# --------------------------------------------------------------------------- what is offered


def offered(page: Any) -> tuple[list[str], list[str]]:
    """The answers and the number questions the page's form offers, by value."""
    form = page.context["form"]
    answers = [
        value
        for _group, options in form.fields["condition_answer"].choices[1:]
        for value, _label in options
    ]
    numbers = [value for value, _label in form.fields["condition_number_question"].choices[1:]]
    return answers, numbers


def test_only_questions_before_this_one_are_offered() -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    every_answer = ["shift:day", "shift:night", "disciplined:yes", "disciplined:no"]
    every_answer += ["worries:rates", "worries:cameras", "worries:sharing"]
    # A new question goes last on its page: all of page 1, then page 2 too.
    assert offered(client.get(create_url(survey, 1))) == (["shift:day", "shift:night"], ["age"])
    assert offered(client.get(create_url(survey, 2))) == (every_answer, ["age"])
    # An edit: the questions before it, never itself or a later one.
    assert offered(client.get(edit_url(survey, "shift"))) == ([], [])
    assert offered(client.get(edit_url(survey, "age"))) == (["shift:day", "shift:night"], [])
    assert offered(client.get(edit_url(survey, "disciplined"))) == (
        ["shift:day", "shift:night"],
        ["age"],
    )
    assert offered(client.get(edit_url(survey, "worries"))) == (every_answer[:4], ["age"])


def test_the_choices_are_grouped_by_the_question_s_words() -> None:
    survey = make_survey(CommunityFactory())
    Question.objects.filter(survey=survey, name="shift").update(
        label={"en": "Which shift do you work?"}
    )
    Choice.objects.filter(question__name="shift", name="night").update(label={"en": "Night shift"})
    page = organiser_client(survey).get(create_url(survey, 2)).content.decode()
    assert '<optgroup label="Which shift do you work?">' in page
    assert '<option value="shift:night">Night shift</option>' in page
    assert '<option value="age">Age</option>' in page
    # Labelled controls in named groups; the written rule tucked away, closed.
    assert "<legend>Who is asked this question</legend>" in page
    assert '<label for="id_condition_answer">Answer to an earlier question:</label>' in page
    assert '<label for="id_condition_number">Number to compare with:</label>' in page
    assert re.search(r"<details>\s*<summary>Write the rule yourself \(advanced\)</summary>", page)


def test_the_first_question_says_everyone_is_asked() -> None:
    survey = make_survey(CommunityFactory())
    page = organiser_client(survey).get(edit_url(survey, "shift")).content.decode()
    assert "no question comes before this one" in page
    assert 'name="condition_answer"' not in page
    assert 'name="condition_number_question"' not in page


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("editing", "post", "field", "told"),
    [
        # A choice of another question, of a later question, of the question itself.
        (
            "disciplined",
            {"condition_answer": "shift:cameras"},
            "condition_answer",
            "Choose an answer from the list: only answers to questions that come before"
            " this one can be used.",
        ),
        (
            "disciplined",
            {"condition_answer": "worries:cameras"},
            "condition_answer",
            "Choose an answer from the list: only answers to questions that come before"
            " this one can be used.",
        ),
        (
            "disciplined",
            {"condition_answer": "disciplined:yes"},
            "condition_answer",
            "Choose an answer from the list: only answers to questions that come before"
            " this one can be used.",
        ),
        (
            "disciplined",
            {"condition_number_question": "shift", "condition_number": "3"},
            "condition_number_question",
            "Choose a question from the list: only number questions that come before this"
            " one can be used.",
        ),
        (
            "disciplined",
            {"condition_number_question": "age", "condition_number": "fifty"},
            "condition_number",
            "'fifty' is not a number. Give it in digits, like 50 or 2.5, with a point"
            " before any decimals.",
        ),
        (
            "disciplined",
            {"condition_number_question": "age", "condition_number": "1e3"},
            "condition_number",
            "'1e3' is not a number.",
        ),
        (
            "disciplined",
            {"condition_number_question": "age", "condition_number": "2,5"},
            "condition_number",
            "'2,5' is not a number.",
        ),
        (
            "disciplined",
            {"condition_number_question": "age", "condition_number": ""},
            "condition_number",
            "Give the number to compare the answer with, like 50.",
        ),
        (
            "disciplined",
            {"condition_number": "50"},
            "condition_number_question",
            "Choose the question the number is about, or empty the number.",
        ),
        (
            "disciplined",
            {
                "condition_number_question": "age",
                "condition_number": "50",
                "condition_comparison": "~",
            },
            "condition_comparison",
            "Choose how the answer compares, like “at least”.",
        ),
        (
            "disciplined",
            {
                "condition_answer": "shift:night",
                "condition_number_question": "age",
                "condition_number": "50",
            },
            "condition_number_question",
            "Choose one condition, an answer or a number, not both.",
        ),
        (
            "disciplined",
            {"condition_answer": "shift:night", "relevant": "${shift} = 'day'"},
            "condition_answer",
            "This asks different people from the rule written under “Write the rule"
            " yourself”: here ${shift} = 'night', there ${shift} = 'day'. Keep one of"
            " them: empty the written rule, or choose “No condition on an answer” here.",
        ),
        (
            "disciplined",
            {
                "condition_number_question": "age",
                "condition_number": "50",
                "relevant": "${age} > 50",
            },
            "condition_number_question",
            "here ${age} >= 50, there ${age} > 50.",
        ),
    ],
)
def test_what_is_not_offered_is_refused_next_to_its_field_and_nothing_changes(
    editing: str, post: dict[str, str], field: str, told: str
) -> None:
    survey = make_survey(CommunityFactory())
    client = organiser_client(survey)
    before = state(survey)
    base = {"label": "Changed words", "name": editing, "type": "single"}
    base["choices"] = "yes = Yes\nno = No"
    refused = client.post(edit_url(survey, editing), base | post)
    assert refused.status_code == 200
    errors = refused.context["form"].errors
    assert list(errors) == [field], errors
    assert told in errors[field][0]
    page = refused.content.decode().replace("&#x27;", "'").replace("&gt;", ">")
    # Beside its field (described by it), and in the summary at the top.
    assert f'id="id_{field}_error"' in page
    assert '<div class="error-summary"' in page
    assert state(survey) == before


def test_a_refused_chosen_rule_is_shown_beside_the_choice() -> None:
    """The service checks the rule again (a question may have moved since the page was
    shown): its refusal of a chosen rule is told where the rule was chosen."""
    from sayso.surveys.forms import QuestionForm

    survey = make_survey(CommunityFactory())
    disciplined = survey.questions.get(name="disciplined")
    form = QuestionForm(
        {"label": "Disciplined", "name": "disciplined", "type": "single",
         "choices": "yes = Yes\nno = No", "condition_answer": "shift:night"},
        question=disciplined, language="en", survey=survey, section=disciplined.section,
    )  # fmt: skip
    assert form.is_valid(), form.errors
    form.add_error("relevant", "Show only if refers to ${shift}, which is not an earlier question.")
    assert form.errors == {
        "condition_answer": ["Show only if refers to ${shift}, which is not an earlier question."]
    }


# --------------------------------------------------------------------------- editing


@pytest.mark.parametrize(
    ("rule", "chosen"),
    [
        ("${shift} = 'night'", {"condition_answer": "shift:night", "condition_match": "is"}),
        ("${shift} != 'day'", {"condition_answer": "shift:day", "condition_match": "is_not"}),
        (
            "selected(${worries}, 'rates')",
            {"condition_answer": "worries:rates", "condition_match": "is"},
        ),
        (
            "not(selected(${worries}, 'sharing'))",
            {"condition_answer": "worries:sharing", "condition_match": "is_not"},
        ),
        (
            "${age} < 25.5",
            {
                "condition_number_question": "age",
                "condition_comparison": "<",
                "condition_number": "25.5",
            },
        ),
    ],
)
def test_an_edit_opens_with_the_stored_rule_chosen_and_saves_it_unchanged(
    rule: str, chosen: dict[str, str]
) -> None:
    survey = make_survey(CommunityFactory())
    Question.objects.filter(survey=survey, name="story").update(relevant=rule)
    client = organiser_client(survey)
    shown = client.get(edit_url(survey, "story"))
    form = shown.context["form"]
    assert {k: form[k].value() for k in chosen} == chosen
    assert form["relevant"].value() == ""
    assert not form.written_rule_open
    # Sent back as the page shows it, the rule is stored as it was.
    post = {k: v for k, v in form.initial.items() if v not in (None, False)}
    assert client.post(edit_url(survey, "story"), post).status_code == 302
    assert relevant(survey, "story") == rule
    # Set back to no condition: everyone is asked.
    cleared = post | {
        "condition_answer": "",
        "condition_number_question": "",
        "condition_number": "",
    }
    assert client.post(edit_url(survey, "story"), cleared).status_code == 302
    assert relevant(survey, "story") == ""


@pytest.mark.parametrize(
    ("editing", "rule"),
    [
        ("story", "${shift} = 'night' and ${age} >= 50"),  # two conditions
        ("story", "count-selected(${worries}) >= 2"),  # not one answer
        ("age", "${disciplined} = 'yes'"),  # on a later question than the one edited
        ("story", "${shift} = 'evening'"),  # not one of its answers
        ("story", "selected(${shift}, 'night')"),  # selected() on a single choice question
        ("story", "${worries} = 'rates'"),  # = on a multiple choice question
        ("story", "${age} = '30'"),  # a number compared as text
        ("story", "${shift} >= 2"),  # a choice question compared as a number
    ],
)
def test_a_rule_the_choices_cannot_make_is_shown_written_in_the_open_box(
    editing: str, rule: str
) -> None:
    survey = make_survey(CommunityFactory())
    Question.objects.filter(survey=survey, name=editing).update(relevant=rule)
    page = organiser_client(survey).get(edit_url(survey, editing))
    form = page.context["form"]
    assert form["relevant"].value() == rule
    assert form["condition_answer"].value() in (None, "")
    assert form["condition_number_question"].value() in (None, "")
    assert form.written_rule_open
    assert "<details open>" in page.content.decode()


def test_reading_a_rule_back() -> None:
    assert read_condition("${shift}='night'") == Condition("shift", "=", "night")
    assert read_condition(' selected( ${w} , "it\'s" ) ') == Condition("w", "selected", "it's")
    assert read_condition("${age} >= -2.5") == Condition("age", ">=", "-2.5", number=True)
    assert read_condition("${age} >= 2.") is None
    assert read_condition("${a} = 'x' or ${a} = 'y'") is None
    assert read_condition("") is None
    # A choice name with a quote in it is written in the other quotes.
    assert Condition("w", "selected", "it's").expression == 'selected(${w}, "it\'s")'
