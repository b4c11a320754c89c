"""Background work for deliberation. Runs in the task worker (`sayso worker`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.tasks import task

if TYPE_CHECKING:
    from sayso.analysis.opinion_map import Votes

    from .models import Conversation, OpinionMapResult


@task()
def recompute_opinion_map(*, conversation_id: int) -> int:
    """Recompute one conversation's opinion map; returns the number of votes used.

    Queued (debounced) by services after votes and moderation: never run in a request."""
    from .models import Conversation
    from .services import compute_now

    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        return 0
    return compute_now(conversation=conversation).vote_count


def store_recomputed(
    *, conversation: Conversation, votes: Votes, published: dict[str, Any]
) -> OpinionMapResult:
    """Store a recomputed map (services.compute_now): its routing priorities always, the
    rest (`published`: data, vote_count, computed_at, warm_start) only when
    `publication_due`. Otherwise readers keep the version published last.

    Which participants changed is worked out from the vote matrix the recompute read
    (`votes`), against the digests kept for the published version."""
    from .models import OpinionMapResult, changed_participants, vote_digests

    current = vote_digests(votes.participant, votes.statement, votes.value)
    with transaction.atomic():
        stored = (
            OpinionMapResult.objects.select_for_update()
            .filter(conversation=conversation)
            .defer("warm_start")
            .first()
        )
        earlier = stored.published_digests() if stored is not None else None
        legacy = stored is not None and stored.is_current and stored.data.get("statements")
        if earlier is None and legacy:
            # A map published before digests were kept (or with digests of another
            # scheme): take the current votes as the ones it holds. That can only
            # count fewer changes than there were, so the next version waits longer.
            earlier = current
        changed = None if earlier is None else changed_participants(earlier, current)
        fields: dict[str, Any] = {"priority": published["priority"], "error": ""}
        if publication_due(conversation, stored, changed):
            fields.update(published)
            fields["published_votes"] = OpinionMapResult.pack_digests(*current)
            fields["held_back"] = False
        else:
            fields["held_back"] = bool(changed)
            if earlier is current and stored is not None:
                fields["published_votes"] = OpinionMapResult.pack_digests(*current)
        result, _created = OpinionMapResult.objects.update_or_create(
            conversation=conversation, defaults=fields
        )
    return result


def publication_due(
    conversation: Conversation, stored: OpinionMapResult | None, changed: int | None
) -> bool:
    """Whether a recompute's map replaces the one readers see.

    - A conversation whose results are hidden until it closes publishes nothing while
      open, for organisers neither: its first version is the one worked out at closing,
      with every vote, which nobody has an earlier version to compare with.
    - The first map of a conversation is published as soon as it exists (nothing to
      compare it with; small groups and small counts are hidden in it as always). So is
      a map replacing one stored in a format this code no longer reads (not shown).
    - After that, a version is published only when at least the threshold of
      participants (selectors.publication_step) voted, or changed a vote, since the
      version published last: so any two versions a reader can compare differ by the
      votes of that many people at least, and no one person's votes can be read from
      the difference. Closing the conversation is no exception (as surveys' figures
      between closings): the last few votes wait until it is opened again and more
      people vote."""
    from . import selectors

    if conversation.results_hidden_until_closed and conversation.is_open:
        return False
    if stored is None or not stored.is_current or not stored.data.get("statements"):
        return True
    return changed is not None and changed >= selectors.publication_step(conversation)


@task()
def import_polis_upload(*, job_id: int) -> int | None:
    """Import a checked Polis upload (services.start_polis_import queues it); returns
    the new conversation's id, or None when refused or already taken."""
    from .services import run_polis_import

    job = run_polis_import(job_id=job_id)
    return job.conversation_id if job is not None else None
