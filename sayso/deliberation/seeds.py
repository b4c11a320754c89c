"""Demo conversation: the warehouse's scanner data, with synthetic votes from two camps
plus a few in between, so that the report has groups, consensus and divisive statements."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from sayso.core.models import Community
from sayso.organisations.models import DataPractice

from .models import Conversation, OpinionMapResult, Participant, Statement, Vote, normalise_text

TOPIC = "What should the rules be for the scanner productivity data?"
# (statement, chance of agreeing in camp "worried", in camp "pragmatic")
STATEMENTS = [
    ("Scanner data should never be used on its own to discipline someone.", 0.95, 0.85),
    ("We should be told exactly what the scanners record about us.", 0.95, 0.9),
    ("Idle-time alerts should be switched off during breaks and toilet visits.", 0.9, 0.8),
    (
        "Productivity targets based on scanner data are fair if they are agreed with the union.",
        0.25,
        0.85,
    ),
    ("Managers should not see individual pick rates, only team totals.", 0.9, 0.2),
    ("Scanner data should be deleted after 30 days.", 0.85, 0.3),
    ("Tracking helps spread the work more fairly across shifts.", 0.15, 0.8),
    ("Bonuses linked to pick rates would be welcome.", 0.1, 0.75),
    ("Workers should be able to see and correct their own scanner data.", 0.9, 0.85),
    ("The company should not share scanner data with agencies or other employers.", 0.95, 0.8),
    ("Camera idle-time alerts should be removed altogether.", 0.85, 0.15),
    ("An independent audit of the tracking system should happen every year.", 0.8, 0.6),
    ("People with disabilities or health conditions need adjusted targets.", 0.9, 0.85),
    ("I would rather have tracking than random supervisor checks.", 0.1, 0.7),
]
CAMPS = (("worried", 38), ("pragmatic", 24), ("unsure", 6))


def seed_demo(community: Community, key: str) -> None:
    if key != "warehouse":
        return
    if Conversation.objects.filter(community=community, topic=TOPIC).exists():
        return
    with transaction.atomic():
        practice = DataPractice.objects.filter(
            community=community, title__icontains="scanner"
        ).first()
        conversation = Conversation.objects.create(
            community=community,
            topic=TOPIC,
            description=(
                "Northgate Logistics records every scan on our handhelds and flags 'idle time'. "
                "Vote on each statement, and add your own, so we can see where we agree "
                "before we put our asks to management."
            ),
            data_practice=practice,
            moderation=Conversation.Moderation.PRE,
            access=Conversation.Access.LINK,
            public_token="northgate-scanner-demo",  # noqa: S106 (a stable demo link)
        )
        OpinionMapResult.objects.create(conversation=conversation)
        today = timezone.localdate()
        pending = "Night shift should get a separate meeting about this."
        statements = Statement.objects.bulk_create(
            [
                *(
                    Statement(
                        conversation=conversation,
                        number=i,
                        text=text,
                        normalised=normalise_text(text),
                        created_on=today - dt.timedelta(days=12),
                    )
                    for i, (text, _w, _p) in enumerate(STATEMENTS)
                ),
                Statement(
                    conversation=conversation,
                    number=len(STATEMENTS),
                    text=pending,
                    normalised=normalise_text(pending),
                    kind=Statement.Kind.PARTICIPANT,
                    state=Statement.State.PENDING,
                    created_on=today - dt.timedelta(days=1),
                ),
            ]
        )[: len(STATEMENTS)]
        rng = random.Random(2026)
        participants: list[Participant] = []
        votes = []
        for camp, size in CAMPS:
            for _ in range(size):
                day = today - dt.timedelta(days=rng.randrange(0, 10))
                # Saved below in one bulk insert; the votes take its primary key then.
                participant = Participant(
                    conversation=conversation, number=len(participants), joined_on=day
                )
                participants.append(participant)
                for statement, (_text, worried, pragmatic) in zip(
                    statements, STATEMENTS, strict=True
                ):
                    if rng.random() < 0.15:
                        continue  # not everyone votes on everything
                    chance = {"worried": worried, "pragmatic": pragmatic}.get(camp, 0.5)
                    roll = rng.random()
                    value = 0 if roll > 0.93 else (1 if rng.random() < chance else -1)
                    votes.append(
                        Vote(
                            participant=participant,
                            statement=statement,
                            value=value,
                            created_on=day,
                        )
                    )
        Participant.objects.bulk_create(participants)
        Vote.objects.bulk_create(votes)
    from .services import compute_now

    compute_now(conversation=conversation)
