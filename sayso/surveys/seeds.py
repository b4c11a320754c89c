"""The warehouse demo community's surveys: one open, to answer and to watch the count
rise (its figures stay with organisers while it is open), and one closed, whose results
every member can read, with a group too small to show (so disclosure control is seen
working on the demo)."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from sayso.core.models import Community

from . import services
from .models import Answer, Choice, Question, Response, Section, Survey

TITLE = "How is scanner data used on your shift?"
CLOSED_TITLE = "Spring check-in: cameras and breaks"


@transaction.atomic
def seed_demo(community: Community, key: str) -> None:
    if key != "warehouse":
        return
    if not Survey.objects.filter(community=community, title=TITLE).exists():
        _seed_open_survey(community)
    if not Survey.objects.filter(community=community, title=CLOSED_TITLE).exists():
        _seed_closed_survey(community)


def _question(
    survey: Survey,
    section: Section,
    order: int,
    name: str,
    kind: str,
    label: str,
    choices: list[tuple[str, str]],
    **extra: object,
) -> tuple[Question, list[Choice]]:
    made = Question.objects.create(
        survey=survey,
        section=section,
        order=order,
        name=name,
        type=kind,
        label={"en": label},
        **extra,
    )
    return made, [
        Choice.objects.create(question=made, order=i, name=n, label={"en": t})
        for i, (n, t) in enumerate(choices, 1)
    ]


def _seed_open_survey(community: Community) -> None:
    survey = Survey.objects.create(
        community=community,
        title=TITLE,
        welcome="Five minutes, anonymous. Your answers help us bargain about scanner data.",
        privacy_notice="Nobody, not even organisers, can see who answered. Groups under 5 people are hidden.",
        languages=["en"],
        status=Survey.Status.OPEN,
        weighting_targets={"shift": {"day": 120, "night": 80}},
    )
    about = Section.objects.create(survey=survey, order=1, title={"en": "About you"})
    experience = Section.objects.create(survey=survey, order=2, title={"en": "Your experience"})

    shift, shift_choices = _question(
        survey,
        about,
        1,
        "shift",
        Question.Type.SINGLE,
        "Which shift do you usually work?",
        [("day", "Days"), ("night", "Nights")],
        required=True,
        is_breakdown=True,
    )
    disciplined, disc_choices = _question(
        survey,
        experience,
        1,
        "disciplined",
        Question.Type.SINGLE,
        "Have you been disciplined using scanner data?",
        [("yes", "Yes"), ("no", "No")],
        required=True,
    )
    worries, worry_choices = _question(
        survey,
        experience,
        2,
        "worries",
        Question.Type.MULTIPLE,
        "What worries you?",
        [
            ("rates", "Pick-rate rankings"),
            ("cameras", "Idle-time cameras"),
            ("sharing", "Sharing with vendors"),
        ],
    )
    fair, fair_choices = _question(
        survey,
        experience,
        3,
        "fair",
        Question.Type.RATING,
        "How fair is the use of scanner data?",
        [
            (str(i), t)
            for i, t in enumerate(["Very unfair", "Unfair", "Neutral", "Fair", "Very fair"], 1)
        ],
    )
    story, _c = _question(
        survey,
        experience,
        4,
        "story",
        Question.Type.LONG_TEXT,
        "Anything else you want to tell us?",
        [],
        relevant="${disciplined} = 'yes'",
    )
    rng = random.Random(4)
    today = timezone.localdate()
    for i in range(60):
        s = rng.choices(shift_choices, weights=[3, 2])[0]
        d = (
            disc_choices[0]
            if rng.random() < (0.7 if s.name == "night" else 0.5)
            else disc_choices[1]
        )
        chosen = [c for c in worry_choices if rng.random() < 0.5]
        f = rng.choices(fair_choices, weights=[5, 4, 2, 1, 1])[0]
        data = {
            "shift": s.name,
            "disciplined": d.name,
            "worries": [c.name for c in chosen] or None,
            "fair": f.name,
        }
        response = Response.objects.create(
            survey=survey,
            status=Response.Status.COMPLETE,
            language="en",
            started_on=today,
            submitted_on=today,
            draft={k: v for k, v in data.items() if v},
        )
        rows = [
            Answer(survey=survey, response=response, question=shift, choice=s),
            Answer(survey=survey, response=response, question=disciplined, choice=d),
            Answer(survey=survey, response=response, question=fair, choice=f),
        ]
        rows += [
            # rank: the order on the form; rank 1 stands for the respondent in the counts.
            Answer(survey=survey, response=response, question=worries, choice=c, rank=position)
            for position, c in enumerate(chosen, start=1)
        ]
        if d.name == "yes" and i % 7 == 0:
            rows.append(
                Answer(
                    survey=survey,
                    response=response,
                    question=story,
                    text="I was warned for a slow hour while helping a colleague.",
                    approved=i % 2 == 0,
                )
            )
        Answer.objects.bulk_create(rows)
    # The answers were written directly, so the running counts the results page reads
    # must be built from them once.
    services.recount(survey=survey)


def _seed_closed_survey(community: Community) -> None:
    """74 answers, closed: "Goods in" has 4 people, under the members' threshold of 5,
    so the results page hides that group and what would give it away."""
    survey = Survey.objects.create(
        community=community,
        title=CLOSED_TITLE,
        welcome="Three questions about the idle-time cameras. Anonymous.",
        privacy_notice="Nobody, not even organisers, can see who answered. Groups under 5 people are hidden.",
        languages=["en"],
        status=Survey.Status.CLOSED,
    )
    section = Section.objects.create(survey=survey, order=1, title={"en": "Cameras and breaks"})
    area, areas = _question(
        survey,
        section,
        1,
        "area",
        Question.Type.SINGLE,
        "Where do you work most?",
        [("picking", "Picking"), ("packing", "Packing"), ("goods_in", "Goods in")],
        required=True,
        is_breakdown=True,
    )
    changed, changes = _question(
        survey,
        section,
        2,
        "breaks_changed",
        Question.Type.SINGLE,
        "Have the idle-time cameras changed how you take breaks?",
        [("a_lot", "Yes, a lot"), ("a_little", "A little"), ("no", "No")],
        required=True,
    )
    minutes, _none = _question(
        survey,
        section,
        3,
        "break_minutes",
        Question.Type.NUMBER,
        "How many minutes of break did you get on your last shift?",
        [],
        whole_number=True,
    )
    rng = random.Random(11)
    sent_on = timezone.localdate() - timedelta(days=60)
    people = [areas[0]] * 40 + [areas[1]] * 30 + [areas[2]] * 4
    for where in people:
        change = rng.choices(changes, weights=[5, 3, 2] if where == areas[0] else [3, 3, 4])[0]
        break_minutes = rng.choice([15, 20, 20, 25, 30, 30, 45])
        response = Response.objects.create(
            survey=survey,
            status=Response.Status.COMPLETE,
            language="en",
            started_on=sent_on,
            submitted_on=sent_on,
            draft={
                "area": where.name,
                "breaks_changed": change.name,
                "break_minutes": str(break_minutes),
            },
        )
        Answer.objects.bulk_create(
            [
                Answer(survey=survey, response=response, question=area, choice=where),
                Answer(survey=survey, response=response, question=changed, choice=change),
                Answer(survey=survey, response=response, question=minutes, number=break_minutes),
            ]
        )
    services.recount(survey=survey)
