"""Background work for deliberation. Runs in the task worker (`sayso worker`)."""

from __future__ import annotations

from django.tasks import task


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


@task()
def import_polis_upload(*, job_id: int) -> int | None:
    """Import a checked Polis upload (services.start_polis_import queues it); returns
    the new conversation's id, or None when refused or already taken."""
    from .services import run_polis_import

    job = run_polis_import(job_id=job_id)
    return job.conversation_id if job is not None else None
