# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""A browser reviewer's findings on the survey results page (review 12), each pinned
by a test that failed before its fix:

1. Written answers could be pinned to a group of one by comparing two filtered lists:
   the one comment listed both for "weekend" and for "department B" was the lone
   weekend worker of department B's. No filter lists written answers now.
2. A filter said "5 people answered" beside "8 responses": 3 of the group skipped the
   question, a group below the threshold. The number who did not answer is checked
   like any count (disclosure.check_unanswered), in every group and for everyone.
3. The plain "Shift?" table said it "cannot be shown … try a broader breakdown", with
   no breakdown chosen and every count at least the threshold; or hid a shift that the
   page showed as a group's size beside it. See test_a_split_questions_plain_table_*.
4. The organiser's many "Approve for members" buttons had one name between them.
5. Direction-control characters in an answer turned the organiser's line around.
"""

from __future__ import annotations

import html as markup
import itertools
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse

from sayso.analysis import disclosure
from sayso.core.models import Community
from sayso.core.tests.factories import (
    CommunityFactory,
    MembershipFactory,
    OrganiserFactory,
    signed_in,
)
from sayso.surveys import selectors
from sayso.surveys.models import Answer, Choice, Question, Section, Survey
from sayso.surveys.tests.factories import answer, close

pytestmark = pytest.mark.django_db

THRESHOLD = 5


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _survey(
    community: Community, questions: Sequence[tuple[str, str, Sequence[str], dict[str, Any]]]
) -> Survey:
    survey = Survey.objects.create(
        community=community,
        title="Privacy test",
        languages=["en"],
        status=Survey.Status.OPEN,
    )
    section = Section.objects.create(survey=survey, order=1, title={"en": "All"})
    for order, (name, kind, choices, extra) in enumerate(questions, 1):
        question = Question.objects.create(
            survey=survey,
            section=section,
            order=order,
            name=name,
            type=kind,
            label={"en": f"{name.title()}?"},
            **extra,
        )
        for i, choice in enumerate(choices, 1):
            Choice.objects.create(
                question=question, order=i, name=choice, label={"en": choice.title()}
            )
    return survey


SPLIT = {"required": True, "is_breakdown": True}

# The reviewer's survey: Shift Day 20 / Night 7 / Weekend 6, Department A 25 / B 8,
# one person both Weekend and B. In B, the two day workers and the weekend worker
# skipped "Worries?" and "Hours?"; "Fair?" was skipped by five in A and those three.
PEOPLE = {
    ("day", "a"): 18,
    ("day", "b"): 2,
    ("night", "a"): 2,
    ("night", "b"): 5,
    ("weekend", "a"): 5,
    ("weekend", "b"): 1,
}


def reviewers_survey() -> Survey:
    survey = _survey(
        CommunityFactory(small_group_threshold=THRESHOLD),
        [
            ("shift", Question.Type.SINGLE, ("day", "night", "weekend"), SPLIT),
            ("dept", Question.Type.SINGLE, ("a", "b"), SPLIT),
            ("worries", Question.Type.MULTIPLE, ("rates", "cameras", "sharing"), {}),
            ("hours", Question.Type.NUMBER, (), {}),
            ("fair", Question.Type.SINGLE, ("yes", "no"), {}),
            ("comment", Question.Type.LONG_TEXT, (), {}),
        ],
    )
    for (shift, dept), n in PEOPLE.items():
        for i in range(n):
            values: dict[str, Any] = {
                "shift": shift,
                "dept": dept,
                "comment": f"Comment {i} from {shift} in {dept}",
            }
            skips = dept == "b" and shift in ("day", "weekend")
            if not skips:
                values |= {"worries": ["rates"] if i % 2 else ["cameras"], "hours": 30 + i}
            if not skips and not (shift == "day" and dept == "a" and i < 5):
                values["fair"] = "yes" if i % 2 else "no"
            answer(survey, **values)
    Answer.objects.filter(survey=survey, question__name="comment").update(approved=True)
    return close(survey)


def reader(community: Community, *, organiser: bool = False) -> Client:
    factory = OrganiserFactory if organiser else MembershipFactory
    return signed_in(factory(community=community).user)


def url(survey: Survey) -> str:
    return reverse("surveys:results", kwargs={"slug": survey.community.slug, "pk": survey.pk})


def page(client: Client, survey: Survey, **query: str) -> str:
    response = client.get(url(survey), query)
    assert response.status_code == 200
    return markup.unescape(response.content.decode())


def section(html: str, survey: Survey, name: str) -> str:
    pk = survey.questions.get(name=name).pk
    return html.split(f'aria-labelledby="q-{pk}">', 1)[1].split("</section>", 1)[0]


def comments(html: str, survey: Survey) -> set[str]:
    return set(re.findall(r"Comment \d+ from \w+ in \w", section(html, survey, "comment")))


def result(found: selectors.Results, name: str) -> selectors.QuestionResult:
    return next(r for r in found.questions if r.question.name == name)


# --------------------------------------------------------------------------- 1. written answers


FILTERED_OUT = (
    "Written answers are not listed when the results are narrowed to a group: the lists "
    "for two groups could be compared to find who wrote an answer."
)


def test_two_filtered_lists_of_written_answers_no_longer_pin_one_to_a_person() -> None:
    survey = reviewers_survey()
    lone = "Comment 0 from weekend in b"
    for organiser in (False, True):
        client = reader(survey.community, organiser=organiser)
        everyone = page(client, survey)
        assert len(comments(everyone, survey)) == 33
        assert lone in comments(everyone, survey)
        assert FILTERED_OUT not in everyone
        for query in (
            {"only": "shift:weekend"},
            {"only": "dept:b"},
            {"only": "shift:day", "by": "dept"},
        ):
            html = page(client, survey, **query)
            # The filter is applied (not ignored), yet no answer is listed.
            assert "· only" in html, query
            assert comments(html, survey) == set(), query
            story = section(html, survey, "comment")
            assert FILTERED_OUT in story
            pk = survey.questions.get(name="comment").pk
            link = f'href="{url(survey)}#q-{pk}">'
            assert f"{link}Read the written answers in the results for everyone</a>" in story


def test_no_filter_gives_written_answers_to_anyone_even_organisers_reading_all() -> None:
    survey = reviewers_survey()
    shift = survey.questions.prefetch_related("choices").get(name="shift")
    dept = survey.questions.prefetch_related("choices").get(name="dept")
    for only in [(shift, c) for c in ("day", "night", "weekend")] + [(dept, "a"), (dept, "b")]:
        for everything in (False, True):
            found = selectors.results(survey, only=only, can_see_all_text=everything)
            assert not found.refusal, (only, found.refusal)
            comment = result(found, "comment")
            assert comment.texts == [], only
            assert comment.texts_filtered, only
    # Without a filter the list is there, for a breakdown too (it is not split).
    assert len(result(selectors.results(survey, breakdown=dept), "comment").texts) == 33


def test_approving_an_answer_still_works_from_the_list_for_everyone() -> None:
    survey = reviewers_survey()
    waiting = Answer.objects.filter(survey=survey, question__name="comment").first()
    assert waiting is not None
    Answer.objects.filter(pk=waiting.pk).update(approved=False)
    client = reader(survey.community, organiser=True)
    html = page(client, survey)
    action = reverse(
        "surveys:answer-approve",
        kwargs={
            "slug": survey.community.slug,
            "pk": survey.pk,
            "question": waiting.question_id,
            "response_key": waiting.response.export_key,
        },
    )
    assert f'action="{action}"' in html
    # Not offered under a filter: nothing is listed there.
    assert f'action="{action}"' not in page(client, survey, only="dept:a")
    done = client.post(action, {"approved": "1"})
    assert done.status_code == 302
    assert done["Location"] == url(survey)
    waiting.refresh_from_db()
    assert waiting.approved


# --------------------------------------------------------------------------- 2. who skipped


def test_a_filter_does_not_say_how_many_of_a_small_group_skipped_a_question() -> None:
    survey = reviewers_survey()
    client = reader(survey.community)
    html = page(client, survey, only="dept:b")
    assert "8 responses · only Dept?: B" in html
    for name in ("worries", "hours", "fair"):
        text = section(html, survey, name)
        assert "5 people answered" not in text, name
        assert "from 5 answers" not in text, name
        assert (
            "In one of the groups of “Dept?”, fewer than 5 people did not answer this "
            "question, so its results are not shown narrowed or split this way"
        ) in text, name
        assert "3" not in re.sub(r"<h2.*?</h2>", "", text), name
    # The other group too: everyone's count less department A's is department B's.
    html = page(client, survey, only="dept:a")
    for name in ("worries", "hours", "fair"):
        assert "did not answer this question" in section(html, survey, name), name
    # A question everyone in each group answered is shown as before.
    assert "8 people answered" in section(page(client, survey, only="dept:b"), survey, "shift")


def test_everyones_count_beside_the_number_of_responses_is_checked_the_same_way() -> None:
    survey = reviewers_survey()
    found = selectors.results(survey)
    # 30 of 33 answered "Worries?" and "Hours?": 3 skipped them.
    for name in ("worries", "hours"):
        refused = result(found, name)
        assert refused.refusal == (
            "Fewer than 5 people did not answer this question, so its results are not "
            "shown: the number who answered would tell how many did not, and with so few "
            "they could be picked out."
        ), name
        assert refused.rows == []
        assert refused.mean is None
        assert refused.respondents in (0, 30)
    html = page(reader(survey.community), survey)
    assert "30 people answered" not in section(html, survey, "worries")
    assert "from 30 answers" not in section(html, survey, "hours")
    # 25 of 33 answered "Fair?": the 8 who skipped it are a group of at least 5.
    fair = result(found, "fair")
    assert not fair.refusal
    assert fair.respondents == 25


def test_a_breakdown_row_does_not_say_how_many_of_a_small_group_skipped() -> None:
    survey = reviewers_survey()
    dept = survey.questions.prefetch_related("choices").get(name="dept")
    fair = result(selectors.results(survey, breakdown=dept), "fair")
    # Everyone's figures stay; the rows by department would give B's 5 of 8.
    assert not fair.refusal
    assert fair.respondents == 25
    assert fair.crosstab is not None
    assert fair.crosstab.cells == []
    assert "fewer than 5 people did not answer this question" in fair.crosstab.refusal
    html = page(reader(survey.community), survey, by="dept")
    assert "Split by: Dept?" in section(html, survey, "fair")


def test_a_chart_draws_nothing_a_refused_table_would_not_show() -> None:
    survey = reviewers_survey()
    worries = survey.questions.get(name="worries")
    chart = reverse(
        "surveys:chart",
        kwargs={"slug": survey.community.slug, "pk": survey.pk, "question": worries.pk},
    )
    # Department A's 25 all answered, but B's skipped answers follow from A's bars.
    svg = reader(survey.community).get(chart, {"only": "dept:a"}).content.decode()
    assert "<title>No figures to show.</title>" in svg


@pytest.mark.parametrize(
    ("people", "answered", "refused"),
    [
        ({None: 33}, {None: 33}, False),  # nobody skipped
        ({None: 33}, {None: 28}, False),  # 5 skipped: a group of the threshold
        ({None: 33}, {None: 30}, True),  # 3 skipped
        ({None: 33}, {None: 32}, True),  # 1 skipped
        ({"a": 25, "b": 8}, {"a": 25, "b": 5}, True),  # 3 of B
        ({"a": 25, "b": 8}, {"a": 20, "b": 8}, False),
        ({"a": 25, "b": 8}, {"a": 20}, False),  # nobody of B answered: 8 skipped
        ({"a": 25, "b": 8, None: 0}, {"a": 25, "b": 8}, False),  # an empty group
        ({("a", "x"): 6, ("b", "x"): 9}, {("a", "x"): 6, ("b", "x"): 5}, True),
    ],
)
def test_check_unanswered(people: dict[Any, int], answered: dict[Any, int], refused: bool) -> None:
    found = disclosure.check_unanswered(people, answered, threshold=5)
    assert (found is not None) is refused
    if found is not None:
        assert found.code == disclosure.RefusalCode.TOO_FEW
        assert set(re.findall(r"\d+", found.reason)) == {"5"}  # never a group's size


def test_check_unanswered_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError, match="more people answered"):
        disclosure.check_unanswered({"a": 5}, {"a": 6}, threshold=5)
    with pytest.raises(ValueError, match="more people answered"):
        disclosure.check_unanswered({"a": 5}, {"b": 1}, threshold=5)
    with pytest.raises(ValueError, match="negative"):
        disclosure.check_unanswered({"a": -1}, {}, threshold=5)


# --------------------------------------------------------------------------- 3. the plain table


# Shift (Day, Night, Weekend and an Other nobody chose), Department and Worries, all
# split by, everyone answering each. Counts by (shift, department, worries): the same
# shift and department totals as the reviewer's, one weekend worker in B.
SHIFTS = ("day", "night", "weekend", "other")
NARROW: dict[tuple[str, ...], int] = {
    ("day", "a", "rates"): 12,
    ("day", "a", "cameras"): 2,
    ("day", "b", "cameras"): 6,
    ("night", "a", "rates"): 4,
    ("night", "a", "cameras"): 2,
    ("night", "b", "cameras"): 1,
    ("weekend", "a", "rates"): 2,
    ("weekend", "a", "cameras"): 3,
    ("weekend", "b", "cameras"): 1,
}


def split_survey(people: dict[tuple[str, ...], int], *, worries: bool = True) -> Survey:
    questions = [
        ("shift", Question.Type.SINGLE, SHIFTS, SPLIT),
        ("dept", Question.Type.SINGLE, ("a", "b"), SPLIT),
    ]
    if worries:
        questions.append(("worries", Question.Type.SINGLE, ("rates", "cameras", "sharing"), SPLIT))
    survey = _survey(CommunityFactory(small_group_threshold=THRESHOLD), questions)
    for key, n in people.items():
        values = dict(zip(("shift", "dept", "worries"), key, strict=False))
        for _ in range(n):
            answer(survey, **values)
    return close(survey)


def rows(found: selectors.Results, name: str) -> list[tuple[str, int | None]]:
    return [(r.name, r.count) for r in result(found, name).rows]


# Shift and Department only: day A 13 B 7, night A 7, weekend A 5 B 1, Other nobody.
WEEKEND: dict[tuple[str, ...], int] = {
    ("day", "a"): 13,
    ("day", "b"): 7,
    ("night", "a"): 7,
    ("weekend", "a"): 5,
    ("weekend", "b"): 1,
}


def test_a_split_questions_plain_table_is_shown_when_a_narrow_breakdown_cannot_be() -> None:
    # Before: protect_joint could not protect the family of Shift's tables as a whole
    # (its answers by department and worries at once, with one weekend and one night
    # worker in B), so every view of it was refused, the plain one included.
    survey = split_survey(NARROW)
    found = selectors.results(survey)
    shift = result(found, "shift")
    assert shift.refusal == ""
    assert rows(found, "shift") == [("day", 20), ("night", 7), ("weekend", 6), ("other", 0)]
    html = page(reader(survey.community), survey)
    assert "cannot be shown" not in section(html, survey, "shift")
    # The same figures as the row totals of a breakdown by shift.
    by_shift = result(
        selectors.results(survey, breakdown=survey.questions.get(name="shift")), "dept"
    ).crosstab
    assert by_shift is not None
    assert [line[-1] for line in by_shift.cells[:4]] == [20, 7, 6, 0]
    # The narrow view that cannot be protected is the one refused, in its own words.
    dept = survey.questions.prefetch_related("choices").get(name="dept")
    worries = survey.questions.prefetch_related("choices").get(name="worries")
    narrow = result(selectors.results(survey, only=(dept, "a"), breakdown=worries), "shift")
    assert narrow.crosstab is not None
    assert narrow.crosstab.refusal.startswith("This table cannot be shown")
    # Broader views of Shift are still shown, with the lone weekend worker in B hidden.
    in_b = rows(selectors.results(survey, only=(dept, "b")), "shift")
    assert dict(in_b)["weekend"] is None


def test_a_split_questions_count_is_not_hidden_where_the_page_shows_it_as_a_group() -> None:
    # Before: the plain table hid Weekend (6) to protect the weekend worker in B, while
    # "6 responses · only Shift: Weekend" and every breakdown by shift showed it.
    survey = split_survey(
        WEEKEND,
        worries=False,
    )
    found = selectors.results(survey)
    assert rows(found, "shift") == [("day", 20), ("night", 7), ("weekend", 6), ("other", 0)]
    html = page(reader(survey.community), survey, only="shift:weekend")
    assert "6 responses · only Shift?: Weekend" in html


def views(survey: Survey) -> dict[str, selectors.Results]:
    """Every view a member can ask for: each offered filter, each breakdown, both."""
    splits = list(survey.questions.filter(is_breakdown=True).prefetch_related("choices"))
    filters: list[tuple[Question, str] | None] = [None]
    filters += [(q, c.name) for q in splits for c in q.choices.all()]
    out = {}
    for only, by in itertools.product(filters, [None, *splits]):
        found = selectors.results(survey, only=only, breakdown=by)
        name = f"{only and f'{only[0].name}:{only[1]}'} by {by and by.name}"
        out[name] = found
    return out


def audit(survey: Survey, people: dict[tuple[str, ...], int]) -> tuple[int, int, list[str]]:
    """Every figure the split questions show in every view, as a sum over the people's
    kinds (their answers to every split), and which hidden ones the shown ones give."""
    splits = list(survey.questions.filter(is_breakdown=True).order_by("order"))
    # Every kind there could be, not only those there are: a kind nobody is is not
    # known to be empty unless the page says so.
    kinds = list(itertools.product(*([c.name for c in q.choices.all()] for q in splits)))
    position = {q.name: i for i, q in enumerate(splits)}
    labels = {c.label["en"]: c.name for q in splits for c in q.choices.all()}

    def vector(**where: str) -> np.ndarray:
        return np.array(
            [all(kind[position[q]] == a for q, a in where.items()) for kind in kinds], float
        )

    shown: list[np.ndarray] = [vector()]
    hidden: list[tuple[str, np.ndarray]] = []

    def add(name: str, figure: int | None, v: np.ndarray) -> None:
        if figure is None:
            hidden.append((name, v))
        else:
            shown.append(v)
            if figure == 0:  # counts are never negative: each kind in it is 0
                shown.extend(np.eye(len(kinds))[np.nonzero(v)[0]])

    for name, found in views(survey).items():
        if found.refusal:
            continue
        where: dict[str, str] = {}
        if found.filter_label:
            question, words = found.filter_label.split(": ")
            where[question.rstrip("?").lower()] = labels[words]
        add(f"{name}: responses", found.respondents, vector(**where))
        for r in found.questions:
            if r.refusal or r.filter_note:
                continue
            q = r.question.name
            add(f"{name}: {q} answered", r.respondents, vector(**where))
            for row in r.rows:
                add(f"{name}: {q}={row.name}", row.count, vector(**where, **{q: row.name}))
            tab = r.crosstab
            if tab is None or tab.refusal:
                continue
            by = found.breakdown.name  # type: ignore[union-attr]
            for group, line in zip([*tab.groups, None], tab.cells, strict=True):
                if group is not None and where.get(by, labels[group]) != labels[group]:
                    assert not any(line), (name, group)  # filtered out: nobody
                    continue
                at = dict(where) if group is None else {**where, by: labels[group]}
                for answered, value in zip([*r.rows, None], line, strict=True):
                    cell = at if answered is None else {**at, q: answered.name}
                    add(f"{name}: {q} {cell}", value, vector(**cell))
    known = np.array(shown)
    rank = np.linalg.matrix_rank(known)
    counts = np.array([people.get(kind, 0) for kind in kinds], float)
    given = [
        f"{name} = {int(v @ counts)}"
        for name, v in hidden
        if np.linalg.matrix_rank(np.vstack([known, v])) == rank
    ]
    return len(shown), len(hidden), given


@pytest.mark.parametrize("case", ["narrow", "weekend"])
def test_no_hidden_figure_of_the_split_questions_follows_from_every_view(case: str) -> None:
    """Both questions' tables and their views are the same people by shift and
    department (and worries): across all of them no hidden figure is a sum or
    difference of shown ones, the counts shown as group sizes included."""
    people: dict[tuple[str, ...], int] = NARROW if case == "narrow" else WEEKEND
    survey = split_survey(people, worries=case == "narrow")
    shown, hidden, given = audit(survey, people)
    assert shown > 20
    assert hidden > 0
    assert [g for g in given if 0 < int(g.rsplit("= ", 1)[1]) < THRESHOLD] == []
    if case == "narrow":
        assert given == []
    else:
        # Known, and no small number: Department's own table hides "every night worker
        # is in A" (a whole group's one answer), which Shift's shows as 0 night workers
        # in B. The two questions' tables are the same people, protected apart.
        assert {g.split(": ", 1)[1] for g in given} <= {
            "dept {'shift': 'night', 'dept': 'a'} = 7",
            "dept {'shift': 'night', 'dept': 'b'} = 0",
            "dept=a = 7",
            "dept=b = 0",
        }


def test_protect_family_leaves_out_the_tables_it_cannot_protect() -> None:
    # Shift's answers by shift (axis 1, not released), department (2) and worries (3):
    # NARROW as protect_joint cells.
    sizes = (4, 5, 3, 4)
    index = {
        "day": 0, "night": 1, "weekend": 2, "other": 3, "a": 0, "b": 1,
        "rates": 0, "cameras": 1, "sharing": 2,
    }  # fmt: skip
    cells = {(index[s], index[s], index[d], index[w]): n for (s, d, w), n in NARROW.items()}
    tables = [(2,), (3,), (2, 3)]
    with pytest.raises(disclosure.DisclosureRefused):
        disclosure.protect_joint(cells, sizes, threshold=5, tables=tables)
    family = disclosure.protect_family(cells, sizes, threshold=5, tables=tables)
    # The plain counts are all shown; the pair table is left out, the others kept.
    assert [family.visible(family.cell(a)) for a in range(4)] == [20, 7, 6, 0]
    assert family.cell(0, {2: 0, 3: 0}) not in family.status
    assert family.cell(0, {2: 1}) in family.status
    assert family.cell(0, {3: 1}) in family.status
    # What it keeps is protected as protect_joint protects it.
    again = disclosure.protect_joint(cells, sizes, threshold=5, tables=[(2,), (3,)])
    assert again.status == family.status
    # A family protected whole is protect_joint's.
    whole = disclosure.protect_family(cells, sizes, threshold=5, tables=[(2,)])
    assert whole.status == disclosure.protect_joint(cells, sizes, threshold=5, tables=[(2,)]).status


def test_protect_family_refuses_only_when_the_plain_counts_cannot_be_shown() -> None:
    with pytest.raises(disclosure.DisclosureRefused) as refused:
        disclosure.protect_family({(0, 0): 3, (1, 1): 1}, (2, 3), threshold=5, tables=[(1,)])
    assert refused.value.refusal == disclosure.too_few_refusal(5)


def test_shown_figures_are_never_hidden_and_protection_does_not_lean_on_them() -> None:
    # Shift's answers by department: day A 13 B 7, night A 7, weekend A 5 B 1.
    cells = {(0, 0): 13, (0, 1): 7, (1, 0): 7, (2, 0): 5, (2, 1): 1}
    plain = disclosure.protect_joint(cells, (4, 3), threshold=5, tables=[(1,)])
    assert plain.is_hidden(plain.cell(2))  # weekend's 6, hidden to protect B's 1
    shown = [(a, 3) for a in range(4)]
    kept = disclosure.protect_joint(cells, (4, 3), threshold=5, tables=[(1,)], shown=shown)
    assert [kept.visible(kept.cell(a)) for a in range(4)] == [20, 7, 6, 0]
    assert kept.is_hidden(kept.cell(2, {1: 1}))
    # Weekend's line: 6 known, so B's 1 is protected by another hidden cell in it.
    assert kept.is_hidden(kept.cell(2, {1: 0}))
    # A small figure that must be shown cannot be protected.
    with pytest.raises(disclosure.DisclosureRefused):
        disclosure.protect_joint(cells, (4, 3), threshold=5, tables=[(1,)], shown=[(2, 1)])


# --------------------------------------------------------------------------- 4 and 5. the list


def test_each_approve_button_is_named_by_its_answer_and_answers_keep_their_direction() -> None:
    survey = reviewers_survey()
    Answer.objects.filter(survey=survey, question__name="comment").update(approved=False)
    flipped = "\u202eThe scanner counts my breaks as idle time, every single day of the week"
    Answer.objects.filter(
        survey=survey, question__name="comment", text="Comment 0 from weekend in b"
    ).update(text=flipped)
    html = page(reader(survey.community, organiser=True), survey)
    listed = section(html, survey, "comment")
    buttons = re.findall(r'<button type="submit" class="link-button">(.*?)</button>', listed)
    assert len(buttons) == 33
    assert len(set(buttons)) == 33  # each named apart
    assert (
        'Approve for members<span class="visually-hidden">: <bdi>Comment 0 from day in a'
        "</bdi></span>"
    ) in buttons
    # A long answer: its first words.
    assert (
        'Approve for members<span class="visually-hidden">: <bdi>\u202eThe scanner counts my '
        "breaks as idle time, …</bdi></span>"
    ) in buttons
    # The answer itself is isolated, so its direction marks end with it.
    assert f"<li><bdi>{flipped}</bdi> <form" in listed
    assert len(re.findall(r"<li><bdi>", listed)) == 33
