from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import conditional_escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sayso.core.decorators import access_level, community_view
from sayso.core.models import Citation, Community
from sayso.core.permissions import access_for
from sayso.core.services import ServiceError

from . import selectors, services
from .forms import (
    CiteForm,
    CodeForm,
    ConversationForm,
    ImportForm,
    ModerationForm,
    SeedStatementForm,
    StatementEditForm,
    StatementForm,
    parse_vote,
)
from .models import (
    Conversation,
    OpinionMapResult,
    Participant,
    PolisImport,
    Statement,
    Vote,
)
from .svg import opinion_map_svg


def _conversation(community: Community, pk: int) -> Conversation:
    found = get_object_or_404(Conversation, pk=pk, community=community)
    found.community = community  # already loaded: spare the query in get_absolute_url
    return found


def _count(model: Any, **filters: Any) -> Coalesce:
    counted = (
        model.objects.filter(conversation=OuterRef("pk"), **filters)
        .order_by()
        .values("conversation")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


# --- organiser and member pages ------------------------------------------------------


@community_view("viewer")
def conversation_list(request: HttpRequest, community: Community) -> HttpResponse:
    organiser = request.access.can_organise  # type: ignore[attr-defined]
    listed = (
        Conversation.objects.filter(community=community)
        .select_related("community")
        .annotate(
            n_statements=_count(Statement, state=Statement.State.ACCEPTED),
            n_pending=_count(Statement, state__in=[Statement.State.PENDING, Statement.State.HELD]),
        )
    )
    if organiser:
        conversations: list[Conversation] = list(
            listed.annotate(n_participants=_count(Participant))
        )
    else:
        # Members and advisors: the report's figures, never a live count, which would
        # give the people the report holds back (selectors.published_totals).
        conversations = list(listed)
        totals = selectors.published_totals(conversations, community.small_group_threshold)
        for found in conversations:
            found.totals = totals[found.pk]  # type: ignore[attr-defined]
    return render(
        request,
        "deliberation/list.html",
        {"community": community, "conversations": conversations, "organiser": organiser},
    )


@community_view("organiser")
def conversation_create(request: HttpRequest, community: Community) -> HttpResponse:
    form = ConversationForm(request.POST or None, community=community)
    if request.method == "POST" and form.is_valid():
        try:
            conversation = services.create_conversation(
                conversation=form.instance,
                community=community,
                actor=request.user,
                seed_statements=form.cleaned_data["seed_statements"],
            )
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("Conversation started. Share its link so people can take part.")
            )
            if form.codes_not_used:
                messages.warning(request, form.CODES_NOT_USED)
            return redirect(conversation)
    return render(
        request, "deliberation/conversation_form.html", {"community": community, "form": form}
    )


@community_view("viewer")
def conversation_detail(
    request: HttpRequest, community: Community, conversation: int
) -> HttpResponse:
    found = get_object_or_404(
        Conversation.objects.select_related("data_practice", "code_batch"),
        pk=conversation,
        community=community,
    )
    organiser = request.access.can_organise  # type: ignore[attr-defined]
    # By number, said outright: an imported conversation's rows were written in its
    # file's order, and organisers' pages count statements from 1 in number order.
    statements = Statement.objects.filter(conversation=found).order_by("number")
    threshold = community.small_group_threshold
    counts = None
    rows: Any
    if organiser:
        # Each statement's votes as the report has them, never a live count, which
        # would move with each vote (selectors.published_counts).
        published = selectors.stored_map(found)
        services.ensure_map_current(conversation=found, result=published)
        counts = selectors.published_counts(found, threshold, published)
        rows = [(s, counts.of(s.pk)) for s in statements]
    else:
        # Members see what participants see: a statement waiting for moderation or
        # rejected (it may name someone) is for the moderators only. Vote counts and
        # small numbers are in the report, with its protections.
        rows = statements.filter(state=Statement.State.ACCEPTED)
    # Organisers: everyone who joined and how many of them voted, live (the Polis
    # export's "voters" are those whose votes are published, services._Counts).
    # Members and advisors: the report's one figure (selectors.published_totals), never
    # a live count, which would give the people the report holds back; and never both,
    # which side by side would give the number who joined without voting.
    joined: dict[str, Any] = {}
    totals = None
    if organiser:
        voted = Exists(Vote.objects.filter(participant=OuterRef("pk")))
        joined = Participant.objects.filter(conversation=found).aggregate(
            joined=Count("pk"), voted=Count("pk", filter=Q(voted))
        )
    else:
        totals = selectors.published_totals([found], threshold)[found.pk]
    return render(
        request,
        "deliberation/detail.html",
        {
            "community": community,
            "conversation": found,
            "statements": rows,
            "counts": counts,
            "organiser": organiser,
            "participants": joined.get("joined"),
            "totals": totals,
            "voters": joined.get("voted"),
            "threshold": threshold,
            "public_url": request.build_absolute_uri(found.get_public_url()),
            "seed_form": SeedStatementForm() if found.is_open else None,
            "seeds_closed": services.SEEDS_CLOSED,
            "export_refusal": services.export_refusal(found) if organiser else None,
        },
    )


@community_view("organiser")
def conversation_edit(
    request: HttpRequest, community: Community, conversation: int
) -> HttpResponse:
    found = _conversation(community, conversation)
    joined = services.anyone_joined(found)
    form = ConversationForm(
        request.POST or None,
        instance=found,
        community=community,
        creating=False,
        joined=joined,
        voters=services.voters(found) if joined else 0,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_conversation(conversation=form.instance, actor=request.user)
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Changes saved."))
            if form.codes_not_used:
                messages.warning(request, form.CODES_NOT_USED)
            return redirect(found)
    return render(
        request,
        "deliberation/conversation_form.html",
        {
            "community": community,
            "form": form,
            "conversation": found,
            "promise_fixed": services.PROMISE_FIXED if joined else "",
        },
    )


@community_view("organiser")
def statement_add(request: HttpRequest, community: Community, conversation: int) -> HttpResponse:
    """An organiser adds a statement. A closed conversation offers no form: it says why,
    and words sent anyway (the conversation closed while they were typed) come back to
    copy, as on the participants' page."""
    found = _conversation(community, conversation)
    form = SeedStatementForm(request.POST or None)
    if request.method == "POST" and found.is_open and form.is_valid():
        try:
            services.add_seed_statement(
                conversation=found,
                text=form.cleaned_data["text"],
                is_meta=form.cleaned_data["is_meta"],
                actor=request.user,
            )
        except services.ClosedRefused:
            found.state = Conversation.State.CLOSED  # closed since it was read
        except ServiceError as error:
            form.add_error("text", str(error))
        else:
            messages.success(request, _("Statement added."))
            return redirect(found)
    kept = ""
    if request.method == "POST" and not found.is_open:
        kept = request.POST.get("text", "").strip()
    return render(
        request,
        "deliberation/statement_form.html",
        {
            "community": community,
            "conversation": found,
            "form": form,
            "kept": kept,
            "closed": services.SEEDS_CLOSED,
        },
    )


@community_view("organiser")
def conversation_state(
    request: HttpRequest, community: Community, conversation: int
) -> HttpResponse:
    """GET asks to confirm; POST closes an open conversation or reopens a closed one."""
    found = _conversation(community, conversation)
    if request.method == "POST":
        target = request.POST.get("open")
        if target not in ("0", "1"):
            return redirect(found)
        services.set_state(conversation=found, open=target == "1", actor=request.user)
        messages.success(
            request,
            _("The conversation is open again.")
            if found.is_open
            else _("The conversation is closed. Its final results are being worked out."),
        )
        return redirect(found)
    # Closing publishes only what publication_due allows: with nothing published yet
    # every vote is counted; otherwise the last few may wait, and the page says so first.
    result = selectors.stored_map(found)
    return render(
        request,
        "deliberation/state_confirm.html",
        {
            "community": community,
            "conversation": found,
            "threshold": selectors.publication_step(found),
            "published": selectors.map_view(result, community.small_group_threshold) is not None,
            "waiting": result is not None and result.held_back,
        },
    )


@community_view("organiser")
def moderate(request: HttpRequest, community: Community, conversation: int) -> HttpResponse:
    found = _conversation(community, conversation)
    state = request.GET.get("show", "")
    if state not in Statement.State.values:
        held = Statement.objects.filter(conversation=found, state=Statement.State.HELD)
        state = Statement.State.HELD if held.exists() else Statement.State.PENDING
    threshold = community.small_group_threshold
    published = selectors.stored_map(found)
    services.ensure_map_current(conversation=found, result=published)
    # Votes and pass rates as the report has them, not live (selectors.published_counts).
    counted = selectors.published_counts(found, threshold, published)
    queue = selectors.moderation_queue(found, state, counted)
    # "Select all on this page" (select=all) and "Clear the selection" (select=none)
    # only show the list again with its boxes ticked or not: no script, and nothing
    # changes until Accept or Reject.
    selecting = request.POST.get("select") if request.method == "POST" else None
    form = ModerationForm(
        None if selecting else request.POST or None,
        choices=[(item.statement.pk, item.statement.text) for item in queue],
    )
    if selecting == "all":
        ticked_now = {item.statement.pk for item in queue}
    elif selecting or request.method != "POST":
        ticked_now = set()
    else:  # refused (no action): keep what was ticked
        ticked_now = {_token_in(v) or 0 for v in request.POST.getlist("statements")}
    if request.method == "POST" and not selecting and not queue and not ticked_now:
        # The list emptied since the page was loaded (someone else moderated it all) and
        # nothing was ticked: "Tick at least one statement." would point at no box.
        messages.info(request, _("There is nothing left to moderate in this list."))
        return redirect(f"{request.path}?show={state}")
    if request.method == "POST" and form.is_valid():
        accept = form.cleaned_data["action"] == "accept"
        ticked = set(form.cleaned_data["statements"])
        changed = services.moderate(
            conversation=found, statement_ids=ticked, accept=accept, actor=request.user, still=state
        )
        if changed:
            messages.success(
                request,
                (
                    ngettext("%(n)s statement accepted.", "%(n)s statements accepted.", changed)
                    if accept
                    else ngettext(
                        "%(n)s statement rejected.", "%(n)s statements rejected.", changed
                    )
                )
                % {"n": changed},
            )
        if len(ticked) > changed:
            left = len(ticked) - changed
            messages.info(
                request,
                ngettext(
                    "%(n)s statement had already been checked by someone else and was left"
                    " as it was.",
                    "%(n)s statements had already been checked by someone else and were left"
                    " as they were.",
                    left,
                )
                % {"n": left},
            )
        return redirect(f"{request.path}?show={state}")
    counts = dict(
        Statement.objects.filter(conversation=found)
        .values("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    tabs = [
        (
            f"{label} ({counts.get(value, 0)})",
            f"{request.path}?show={value}",
            value == state,
        )
        for value, label in Statement.State.choices
        # Statements are held only where they would be shown straight away.
        if value != Statement.State.HELD
        or found.moderation == Conversation.Moderation.POST
        or counts.get(value)
    ]
    return render(
        request,
        "deliberation/moderate.html",
        {
            "community": community,
            "conversation": found,
            "queue": queue,
            "form": form,
            "tabs": tabs,
            "state": state,
            "counts": counted,
            "threshold": threshold,
            "ticked": ticked_now,
            "selecting": selecting,
        },
    )


@community_view("organiser")
def statement_edit(
    request: HttpRequest, community: Community, conversation: int, statement: int
) -> HttpResponse:
    """Change the words of a statement waiting for moderation (to take out a name, say)
    before accepting it. One that cannot be changed gets a page that says why."""
    found = _conversation(community, conversation)
    item = get_object_or_404(
        Statement.objects.annotate(n_votes=Count("votes")), pk=statement, conversation=found
    )
    back = f"{reverse('deliberation:moderate', args=[community.slug, found.pk])}?show={item.state}"
    refusal = services.edit_refusal(item, has_votes=item.n_votes > 0)  # type: ignore[attr-defined]
    form = StatementEditForm(request.POST or None, initial={"text": item.text})
    if refusal is None and request.method == "POST" and form.is_valid():
        try:
            services.edit_pending_statement(
                conversation=found,
                statement_id=item.pk,
                text=form.cleaned_data["text"],
                actor=request.user,
            )
        except ServiceError as error:
            form.add_error("text", str(error))
        else:
            messages.success(
                request,
                _("Statement %(n)s saved. It is still waiting: accept it when it reads right.")
                % {"n": item.number + 1},
            )
            return redirect(back)
    return render(
        request,
        "deliberation/statement_edit.html",
        {
            "community": community,
            "conversation": found,
            "statement": item,
            "form": form,
            "refusal": refusal,
            "back": back,
        },
    )


def _report_context(conversation: Conversation, community: Community) -> dict[str, Any]:
    threshold = community.small_group_threshold
    result = selectors.stored_map(conversation)
    services.ensure_map_current(conversation=conversation, result=result)
    context = selectors.report(conversation, threshold, result)
    context["threshold"] = threshold
    context["svg"] = opinion_map_svg(context["map"]) if context["map"] else ""
    return context


@community_view("viewer")
def report(request: HttpRequest, community: Community, conversation: int) -> HttpResponse:
    found = _conversation(community, conversation)
    can_organise = request.access.can_organise  # type: ignore[attr-defined]
    context: dict[str, Any] = {"community": community, "conversation": found, "hidden": False}
    if found.results_visible or can_organise:
        context.update(_report_context(found, community))
        context["citations"] = (
            Citation.objects.listed()
            .filter(
                community=community,
                source_id__in=Statement.objects.filter(conversation=found).values("pk"),
                evidence_type__in=services.EVIDENCE_TYPES,
            )
            .select_related("cited_by")
        )
        context["can_cite"] = can_organise
    else:
        context["hidden"] = True
    return render(request, "deliberation/report.html", context)


@community_view("organiser")
def cite(request: HttpRequest, community: Community, conversation: int) -> HttpResponse:
    """GET lists what can be cited; POST cites a consensus or group statement."""
    found = _conversation(community, conversation)
    report_url = reverse(
        "deliberation:report", kwargs={"slug": community.slug, "conversation": found.pk}
    )
    form = CiteForm(request.POST or None)
    if request.method != "POST":
        context = {
            "community": community,
            "conversation": found,
            **_report_context(found, community),
        }
        return render(request, "deliberation/cite.html", context)
    if not form.is_valid():
        messages.error(request, _("That statement could not be cited. Try again from the report."))
        return redirect(report_url)
    try:
        citation, created = services.cite_from_report(
            conversation=found,
            statement_id=form.cleaned_data["statement"],
            kind=form.cleaned_data["kind"],
            group=form.cleaned_data["group"],
            actor=request.user,
        )
    except ServiceError as refused:
        messages.error(request, str(refused))
        return redirect(report_url)
    # The confirmation is shown beside the list of citations the page goes to (the
    # report, `cited`), not in the messages at the top of a long page, out of view.
    again = "" if created else "&again=1"
    return redirect(f"{report_url}?cited={citation.pk}{again}#citations")


@community_view("organiser")
def export(request: HttpRequest, community: Community, conversation: int) -> HttpResponse:
    """The Polis files as a zip, streamed as it is built (flat memory, any size). When
    it would tell more than the published results (services.ExportRefused), back to
    the conversation with the reason instead."""
    found = _conversation(community, conversation)
    try:
        stream = services.stream_polis_export(conversation=found, actor=request.user)
    except services.ExportRefused as refused:
        messages.error(request, str(refused))
        return redirect(found)
    response = StreamingHttpResponse(stream, content_type="application/zip")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="conversation-{found.pk}-polis-{stamp}.zip"'
    )
    # core.decorators types views as returning HttpResponse; Django serves any
    # HttpResponseBase, a streamed one included.
    return cast(HttpResponse, response)


@community_view("organiser")
def import_polis(request: HttpRequest, community: Community) -> HttpResponse:
    """POST checks the upload and queues the import; GET ?job= shows how it is going
    (a page to reload, no script needed) and goes on to the conversation once done."""
    job = None
    if request.method == "POST" and "cancel" in request.POST:
        # "Stop and start again" on a late import: the page then shows it stopped, with
        # the form (or the conversation, had it just finished).
        number = _token_in(request.POST["cancel"]) or 0
        services.cancel_polis_import(community=community, job_id=number)
        return redirect(f"{request.path}?job={number}")
    if request.method != "POST" and "job" in request.GET:
        services.expire_stale_imports(community=community)  # never "Importing..." forever
        job = get_object_or_404(
            PolisImport.objects.select_related("conversation"),
            pk=_token_in(request.GET["job"]) or 0,
            community=community,
        )
        if job.state == PolisImport.State.DONE and job.conversation is not None:
            messages.success(
                request,
                _(
                    "Imported. The opinion map is being worked out and will appear in the "
                    "report shortly."
                ),
            )
            return redirect(job.conversation)
    # Starting again after a failed or stopped import: what was typed comes back.
    again = (
        {"topic": job.topic, "description": job.description, "moderation": job.moderation}
        if job is not None and job.state == PolisImport.State.FAILED
        else None
    )
    form = ImportForm(
        request.POST or None, request.FILES or None, community=community, initial=again
    )
    if request.method == "POST" and form.is_valid():
        try:
            job = services.start_polis_import(
                community=community,
                actor=request.user,
                files=form.polis_files(),
                archive=form.cleaned_data["archive"],
                topic=form.cleaned_data["topic"],
                description=form.cleaned_data["description"],
                moderation=form.cleaned_data["moderation"],
                data_practice=form.cleaned_data["data_practice"],
                on_notice=lambda text: messages.warning(request, text),
            )
        except services.ImportRefused as refused:
            form.add_error(form.field_for(refused.file), str(refused))
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            return redirect(f"{request.path}?job={job.pk}")
    if form.errors:
        form.ask_for_files_again()
    return render(
        request,
        "deliberation/import.html",
        {
            "community": community,
            "form": form,
            "job": job,
            "late": job is not None and services.import_running_late(job),
            # A large upload was only checked quickly: the waiting page must not say
            # its files "were checked" while the worker is still checking them.
            "checked_in_full": job is not None
            and job.is_pending
            and services.import_checked_in_full(job),
        },
    )


# --- participant pages (public link) -------------------------------------------------


def _public(public_token: str) -> Conversation:
    found = get_object_or_404(
        Conversation.objects.select_related("community").annotate(
            map_requested_at=F("opinion_map__requested_at"),
            map_priority=F("opinion_map__priority"),
        ),
        public_token=public_token,
    )
    # Lets the vote service skip the debounce UPDATE while a recompute is already queued.
    found._opinion_map_requested_at = found.map_requested_at  # type: ignore[attr-defined]
    return found


# Participant pages are never kept by the browser or anything between: on a shared phone
# Back, or an address from the history such as ?change=<token> ("You voted 'Agree'"),
# would otherwise show the last person's page to the next one, even after "Forget me on
# this device" (views.forget). The header is set as it is, not through Django's
# add_never_cache_headers, whose parsing and date cost a vote a twentieth of its time;
# no-store alone says it to every browser in use.
NOT_KEPT = "private, no-store"


def _not_kept(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = view(request, *args, **kwargs)
        response.headers["Cache-Control"] = NOT_KEPT
        return response

    return wrapper


# A participant is known by a signed cookie, not a database session: a vote is the
# hottest request in Sayso and the session read (and write, on joining) was a third of its
# cost. The cookie holds the participant's id, signed with SECRET_KEY and salted per
# conversation, so it cannot be forged or carried to another conversation; it is sent
# only to the conversation's own pages (its path). When the participant is tied to an
# account (a members-only or non-anonymous conversation) the cookie names that account
# too and is honoured only while the same person is signed in, as the session was. It is
# kept in the browser only: the server stores no link between a person and a pseudonym.
PARTICIPANT_COOKIE = "sayso_participant_{pk}"
LEGACY_SESSION_KEY = "deliberation"  # where participants were remembered before the cookie


def _cookie(conversation: Conversation) -> tuple[str, signing.TimestampSigner]:
    """The name of the conversation's participant cookie and its signer (kept per
    conversation: building a signer derives its key each time)."""
    salt = f"sayso.deliberation.participant.{conversation.pk}"
    signer = _signers.get(salt)
    if signer is None or signer.key != settings.SECRET_KEY:
        signer = _signers[salt] = signing.TimestampSigner(salt=salt)
    return PARTICIPANT_COOKIE.format(pk=conversation.pk), signer


_signers: dict[str, signing.TimestampSigner] = {}


def _read_cookie(request: HttpRequest, conversation: Conversation) -> str | None:
    name, signer = _cookie(conversation)
    raw = request.COOKIES.get(name)
    if not raw:
        return None
    try:
        return signer.unsign(raw, max_age=settings.SESSION_COOKIE_AGE)
    except signing.BadSignature:
        return None


def _participant_id(request: HttpRequest, conversation: Conversation) -> int | None:
    signed = _read_cookie(request, conversation)
    if signed:
        participant, _sep, account = signed.partition(":")
        if not account or (request.user.is_authenticated and str(request.user.pk) == account):
            return int(participant)
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        legacy = request.session.get(LEGACY_SESSION_KEY, {}).get(str(conversation.pk))
        if legacy is not None:
            return int(legacy)
    if not conversation.anonymous and request.user.is_authenticated:
        return (
            Participant.objects.filter(conversation=conversation, user=request.user)
            .values_list("pk", flat=True)
            .first()
        )
    return None


def _remember(
    request: HttpRequest,
    response: HttpResponse,
    conversation: Conversation,
    participant: Participant,
) -> HttpResponse:
    value = str(participant.pk)
    account = participant.user_id or (
        request.user.pk if conversation.access == Conversation.Access.MEMBERS else None
    )
    if account:
        value = f"{value}:{account}"
    name, signer = _cookie(conversation)
    response.set_cookie(
        name,
        signer.sign(value),
        max_age=settings.SESSION_COOKIE_AGE,
        path=conversation.get_public_url(),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _may_join(request: HttpRequest, conversation: Conversation) -> str:
    """'yes', 'sign-in', 'not-member' or 'code' (and, from _gate, 'joined-elsewhere')."""
    if conversation.access == Conversation.Access.MEMBERS:
        if not request.user.is_authenticated:
            return "sign-in"
        if not access_for(request.user, conversation.community).is_member:
            return "not-member"
    if conversation.access == Conversation.Access.CODES:
        return "code"
    return "yes"


def _gate(request: HttpRequest, conversation: Conversation, participant_id: int | None) -> str:
    """Whether this person may vote: members-only conversations check membership on
    every request (someone who left the community stops voting at once); otherwise a
    participant who joined (by link or code) may go on."""
    if conversation.access == Conversation.Access.MEMBERS or participant_id is None:
        gate = _may_join(request, conversation)
        if (
            gate == "yes"
            and participant_id is None
            # Signed in: the gate is "yes" in a members-only conversation.
            and selectors.member_joined_elsewhere(conversation, request.user.pk or 0)
        ):
            return "joined-elsewhere"  # each member takes part once (services.join)
        return gate
    return "yes"


CARD = "deliberation/participate.html#card"


def _htmx(request: HttpRequest) -> bool:
    """request.htmx's test, without building request.headers from the whole environ."""
    return request.META.get("HTTP_HX_REQUEST") == "true"


def _card_context(routing: selectors.Routing, participant_id: int | None) -> dict[str, Any]:
    pk, progress = selectors.next_for(routing, participant_id)
    return {
        "conversation": routing.conversation,
        "public_url": routing.public_url,
        # The statement's token, never its key or number (selectors.statement_token).
        "statement": {"token": routing.token(pk), "text": routing.text(pk)}
        if pk is not None and routing.conversation.is_open
        else None,
        "progress": progress,
    }


def _card(routing: selectors.Routing, participant_id: int | None, **extra: Any) -> HttpResponse:
    """Just the statement card, for htmx, rendered without the request's context
    processors (the card uses none of them).

    The card's form carries no CSRF token: htmx sends the page's token in the
    X-CSRFToken header (hx-headers on #card-region, rendered with the full page), and
    Django's CSRF middleware checks it against the cookie exactly as it checks a form
    field. So a card costs no fresh token, and the card, which shows participants'
    text, never repeats a secret (BREACH). The template leaves {% csrf_token %} out of
    a card sent alone ("swapped"), rather than ask for a token it was not given (which
    Django warns of in DEBUG)."""
    context = _card_context(routing, participant_id)
    context.update(extra)
    context["swapped"] = True  # focus moves to the new card (templates say how)
    statement = context["statement"]
    if (
        statement is None
        or not routing.conversation.is_open
        or extra.keys() != {"announce", "previous"}
    ):
        return HttpResponse(get_template(CARD).render(context))
    progress = context["progress"]
    return HttpResponse(
        _next_card(
            routing.public_url,
            extra["announce"],
            {
                "token": str(statement["token"]),
                "text": conditional_escape(statement["text"]),
                "number": str(progress.number),
                "total": str(progress.total),
                "voted": str(progress.voted),
                "previous": str(extra["previous"]),
            },
        )
    )


# The card after a vote, rendered once per language and URL with markers where the
# statement and progress go; each vote then fills the markers in (escaped
# as the template would). Template rendering was a fifth of a vote's time, and this is
# still exactly the template's output (tests/test_views.py compares the two).
_MARK = "\x00{}\x00"
_MARKED = re.compile("\x00(\\w+)\x00")
_skeletons: dict[tuple[str, str, str], list[str]] = {}


def _next_card(public_url: str, announce: str, values: dict[str, str]) -> str:
    key = (translation.get_language() or "", public_url, announce)
    parts = _skeletons.get(key)
    if parts is None:
        marked = get_template(CARD).render(
            {
                "conversation": {"is_open": True},
                "public_url": public_url,
                "statement": {"token": _MARK.format("token"), "text": _MARK.format("text")},
                "progress": {
                    "number": _MARK.format("number"),
                    "total": _MARK.format("total"),
                    "voted": _MARK.format("voted"),
                },
                "announce": announce,
                "previous": _MARK.format("previous"),
                "swapped": True,
            }
        )
        parts = _MARKED.split(marked)
        if len(_skeletons) > 1000:  # one per conversation and language: bounded anyway
            _skeletons.clear()
        _skeletons[key] = parts
    return "".join(values[part] if i % 2 else part for i, part in enumerate(parts))


def _participation_note(
    request: HttpRequest, conversation: Conversation, participant_id: int | None
) -> str:
    """Which sentence tells this person how their votes are kept, so that it is true
    for them: "anonymous"; "code" (a code holder's account is never linked); "linked"
    (their account is, or will be on their first vote); "unlinked" (a conversation that
    links the accounts of people signed in, and this person's votes are not linked)."""
    if conversation.anonymous:
        return "anonymous"
    if conversation.access == Conversation.Access.CODES:
        return "code"
    if not request.user.is_authenticated:
        return "unlinked"
    if participant_id is None:
        return "linked"  # services.join links a signed-in person's account
    # Someone who started signed out and then signed in goes on unlinked.
    linked = Participant.objects.filter(pk=participant_id, user=request.user).exists()
    return "linked" if linked else "unlinked"


def _page(
    request: HttpRequest,
    routing: selectors.Routing,
    participant_id: int | None,
    gate: str,
    *,
    error: str = "",
    code_form: CodeForm | None = None,
    card: dict[str, Any] | None = None,
) -> HttpResponse:
    """The whole page. `card`: the card's context when it is not the next statement's
    (the card to change a vote)."""
    context = card or _card_context(routing, participant_id if gate == "yes" else None)
    context.update(
        {
            "gate": gate,
            "error": error,
            "code_form": code_form or CodeForm(),
            "min_votes": _min_votes(context["progress"].total),
            "participation": _participation_note(request, routing.conversation, participant_id),
            "join_token": _join_token(request, routing.conversation)
            if gate == "yes" and participant_id is None
            else "",
            # Offered to anyone who can vote here, before their first vote too: with
            # htmx the page is not loaded again after it, and the first person on a
            # shared phone needs the link as much as the others.
            "forgettable": gate == "yes"
            and (participant_id is not None or routing.conversation.is_open),
        }
    )
    return render(request, "deliberation/participate.html", context)


# A page shown to someone who has not joined yet carries a join token: the first vote
# joins with it, and two posts with one token (a double click, a double submit) join
# one participant (services.join). It is random, names nobody and is stored only as a
# digest; signed with a timestamp so that an old page no longer joins as the same
# participant (it joins afresh, as a page without a token does).
JOIN_TOKEN_SECONDS = 24 * 60 * 60


def _join_signer(conversation: Conversation) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"sayso.deliberation.join.{conversation.pk}")


def _join_token(request: HttpRequest, conversation: Conversation) -> str:
    """The posted token while it is still valid (an error card keeps it), else a new one."""
    posted = request.POST.get("join", "") if request.method == "POST" else ""
    if posted and _joining_key(posted, conversation):
        return posted
    return _join_signer(conversation).sign(secrets.token_urlsafe(24))


def _joining_key(token: str, conversation: Conversation) -> str:
    """The random part of a valid join token, or "" for none, a forged or an old one."""
    if not token or len(token) > 200:
        return ""
    try:
        return _join_signer(conversation).unsign(token, max_age=JOIN_TOKEN_SECONDS)
    except signing.BadSignature:
        return ""


@access_level("public")
@_not_kept
def participate(request: HttpRequest, public_token: str) -> HttpResponse:
    """One statement at a time. Without JavaScript each vote is a form post answered
    with 303 See Other back to this page; with htmx, the post is answered with the next
    card only.

    Votes are form posts protected by Django's CSRF middleware (token in the form and
    cookie, Origin checked), as every other post in Sayso: the lean vote path below
    skips the session and the full page, never that check."""
    routing = selectors.load_routing(public_token)
    if routing is None:
        # Links are made of capitals and digits (models.new_public_token), but someone
        # typing one off a poster may type it in small letters.
        canonical = public_token.upper()
        if (
            request.method == "GET"
            and canonical != public_token
            and selectors.load_routing(canonical) is not None
        ):
            return HttpResponsePermanentRedirect(
                reverse("deliberation_public:participate", kwargs={"public_token": canonical})
            )
        raise Http404
    conversation = routing.conversation
    participant_id = _participant_id(request, conversation)
    gate = _gate(request, conversation, participant_id)
    if request.method != "POST":
        return _show(request, routing, participant_id, gate)
    if "code" in request.POST and gate == "code":
        return _redeem(request, routing)
    return _vote(request, routing, participant_id, gate)


def _token_in(raw: object) -> int | None:
    """A number from an address or a form as forms.parse_vote reads a statement token
    (ASCII digits, at most 18, so never too large for the database; not 0): a token,
    an import job's or a statement's number. None for anything else."""
    if not isinstance(raw, str) or not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        return None
    return int(raw) or None


def _show(
    request: HttpRequest, routing: selectors.Routing, participant_id: int | None, gate: str
) -> HttpResponse:
    """GET: the page, with the next statement; or, with ?change=<token>, the statement
    the participant last voted on, to vote on again (a mis-tap on a phone). With htmx
    (a request aimed at the card) only the card is sent.

    `?voted=<token>` is where the page without JavaScript goes after a vote
    (_vote): it offers to change that vote. Offering costs nothing; the card to change
    a vote is shown only for the participant's own vote, on a statement still shown, in
    an open conversation: anything else gets the next statement, with a word why when
    the statement is no longer shown."""
    known = participant_id if gate == "yes" else None
    error = ""
    card: dict[str, Any] | None = None
    changing = _token_in(request.GET.get("change"))
    if changing is not None and known is not None and routing.conversation.is_open:
        pk = routing.statement_for(changing)
        if pk is None or pk not in routing.shown:
            error = _(
                "That statement is no longer part of the conversation, so there is no vote"
                " on it to change."
            )
        else:
            value = (
                Vote.objects.filter(participant_id=known, statement_id=pk)
                .values_list("value", flat=True)
                .first()
            )
            if value is not None:  # else not theirs to change: the next statement
                card = {
                    "conversation": routing.conversation,
                    "public_url": routing.public_url,
                    "statement": {"token": changing, "text": routing.text(pk)},
                    "progress": selectors.Progress(voted=0, total=len(routing.statements)),
                    "changing": Vote.Value(value).label,
                }
    previous = _token_in(request.GET.get("voted"))
    if (
        card is None
        and known is not None
        and previous is not None
        and routing.statement_for(previous) in routing.shown
    ):
        card = {**_card_context(routing, known), "previous": previous}
    if request.META.get("HTTP_HX_TARGET") == "card-region":
        context = card or _card_context(routing, known)
        context.update({"swapped": True, "announce": "", "error": error})
        return HttpResponse(get_template(CARD).render(context))
    return _page(request, routing, participant_id, gate, error=error, card=card)


def _redeem(request: HttpRequest, routing: selectors.Routing) -> HttpResponse:
    conversation = routing.conversation
    code_form = CodeForm(request.POST)
    error = ""
    if code_form.is_valid():
        try:
            participant = services.join_with_code(
                conversation=conversation, raw_code=code_form.cleaned_data["code"]
            )
        except ServiceError as refused:
            error = str(refused)
        else:
            if participant is not None:
                response = redirect(routing.public_url)
                return _remember(request, response, conversation, participant)
            code_form.add_error("code", str(CodeForm.REFUSED))
    return _page(request, routing, None, "code", error=error, code_form=code_form)


def _vote(
    request: HttpRequest, routing: selectors.Routing, participant_id: int | None, gate: str
) -> HttpResponse:
    """A vote, or a changed vote (posted from the card to change one: "change" is 1).
    The form names the statement by its token (selectors.statement_token)."""
    conversation = routing.conversation
    parsed = parse_vote(request.POST)
    statement_id = routing.statement_for(parsed[0]) if parsed is not None else None
    joined: Participant | None = None
    if gate != "yes":
        error = _("You need to join this conversation before you can vote.")
    elif parsed is None or statement_id is None:
        error = _("Choose agree, disagree or pass.")
    else:
        token, value = parsed
        changed = request.POST.get("change") == "1"
        try:
            if participant_id is None:
                # The account is needed when it is linked (not anonymous) or recorded
                # apart (members only, services.join): do not load it otherwise.
                user = (
                    request.user
                    if not conversation.anonymous
                    or conversation.access == Conversation.Access.MEMBERS
                    else None
                )
                # Join and vote all or nothing: a refused first vote joins nobody.
                joined = services.join_and_vote(
                    conversation=conversation,
                    user=user,
                    token=_joining_key(request.POST.get("join", ""), conversation),
                    statement_id=statement_id,
                    value=value,
                )
                participant_id = joined.pk
            else:
                services.cast_vote(
                    conversation=conversation,
                    participant=participant_id,
                    statement_id=statement_id,
                    value=value,
                )
        except ServiceError as refused:
            error = str(refused)
            # The cached routing state may be what misled the participant: reload it.
            selectors.forget_routing(conversation)
            routing = selectors.load_routing(conversation.public_token) or routing
        else:
            said = _("Your vote was changed.") if changed else _("Vote recorded.")
            if not _htmx(request):
                # Without JavaScript the confirmation travels to the next page as a
                # message (a cookie: no session is read or written for it), and the
                # page offers to change this vote (_show).
                messages.success(request, said)
                response: HttpResponse = HttpResponseRedirect(
                    f"{routing.public_url}?voted={token}", status=303
                )
            else:
                response = _card(routing, participant_id, announce=said, previous=token)
            if joined is not None:
                _remember(request, response, conversation, joined)
            return response
    if joined is not None:
        participant_id = joined.pk
    if _htmx(request):
        known = participant_id if gate == "yes" else None
        extra = {"join_token": _join_token(request, conversation)} if known is None else {}
        response = _card(routing, known, error=error, **extra)
    else:
        response = _page(request, routing, participant_id, gate, error=error)
    if joined is not None:
        _remember(request, response, conversation, joined)
    return response


def _min_votes(total: int) -> int:
    return min(7, total) if total else 7


@access_level("public")
@_not_kept
def participant_statement(request: HttpRequest, public_token: str) -> HttpResponse:
    conversation = _public(public_token)
    participant_id = _participant_id(request, conversation)
    gate = _gate(request, conversation, participant_id)
    form = StatementForm(request.POST or None)
    joined: Participant | None = None
    response: HttpResponse | None = None
    if request.method == "POST" and form.is_valid():
        if gate != "yes":
            form.add_error(None, _("Join the conversation before adding a statement."))
        else:
            try:
                statement, joined = services.add_statement_as(
                    conversation=conversation,
                    participant_id=participant_id,
                    user=request.user,
                    text=form.cleaned_data["text"],
                )
            except ServiceError as error:
                form.add_error("text", str(error))
            else:
                if statement.state == Statement.State.HELD:
                    said = _(
                        "Thank you. Your statement may contain personal details, such as a"
                        " name or a phone number, so an organiser will check it before it"
                        " appears."
                    )
                elif statement.state == Statement.State.PENDING:
                    said = _(
                        "Thank you. Your statement will appear once an organiser has checked it."
                    )
                else:
                    said = _("Thank you. Your statement is now part of the conversation.")
                messages.success(request, said)
                response = redirect(conversation.get_public_url())
    if response is None:
        # Sent but not added because the form is no longer offered (the conversation
        # closed while it was typed, say): the words come back to copy, not lost.
        kept = request.POST.get("text", "").strip() if request.method == "POST" else ""
        response = render(
            request,
            "deliberation/participant_statement.html",
            {"conversation": conversation, "form": form, "gate": gate, "kept": kept},
        )
    if joined is not None:
        _remember(request, response, conversation, joined)
    return response


def _may_read_results(request: HttpRequest, conversation: Conversation) -> bool:
    if conversation.access == Conversation.Access.LINK:
        return True
    if request.user.is_authenticated and access_for(request.user, conversation.community).is_member:
        return True
    return _participant_id(request, conversation) is not None


@access_level("public")
@_not_kept
def public_report(request: HttpRequest, public_token: str) -> HttpResponse:
    conversation = _public(public_token)
    community = conversation.community
    context: dict[str, Any] = {"community": community, "conversation": conversation, "public": True}
    if not _may_read_results(request, conversation):
        context["refused"] = True
    elif not conversation.results_visible:
        context["hidden"] = True
    else:
        context.update(_report_context(conversation, community))
    return render(request, "deliberation/report.html", context)


# A share of agreement with a group is shown only over at least this many statements:
# from one or two, a single vote moves it between 0 and 100%, which says nothing about
# how close the two views are (the reviewer's "100%" from one statement).
MIN_COMPARED = 3


@access_level("public")
@_not_kept
def you(request: HttpRequest, public_token: str) -> HttpResponse:
    """How the participant's votes relate to each opinion group."""
    conversation = _public(public_token)
    threshold = conversation.community.small_group_threshold
    participant_id = _participant_id(request, conversation)
    context: dict[str, Any] = {"conversation": conversation}
    gate = _gate(request, conversation, participant_id)
    if gate == "joined-elsewhere":
        # A member whose votes are in another browser: "vote on at least 7" would
        # send them voting here, which they cannot (participate.html says the same).
        context["joined_elsewhere"] = True
        return render(request, "deliberation/you.html", context)
    if gate in ("sign-in", "not-member", "code"):
        # Members only, or codes, and this reader cannot vote yet: say why, as participate.html.
        context["gate"] = gate
        return render(request, "deliberation/you.html", context)
    participant = (
        Participant.objects.filter(pk=participant_id, conversation=conversation).first()
        if participant_id
        else None
    )
    votes = Vote.objects.filter(participant=participant).count() if participant else 0
    context["forgettable"] = participant is not None
    total = (
        Statement.objects.filter(conversation=conversation)
        .filter(conversation.shown_statements_filter())
        .count()
    )
    context.update({"votes": votes, "min_votes": _min_votes(total)})
    if not conversation.results_visible:
        context["hidden"] = True
    elif participant is not None:
        result = OpinionMapResult.objects.filter(conversation=conversation).first()
        own = selectors.group_of(result, participant.pk)
        # Someone already placed in a group keeps their comparison when statements are
        # added since (fewer of all now voted on, and a closed conversation takes no
        # more votes).
        view = (
            selectors.map_view(result, threshold)
            if votes >= context["min_votes"] or own is not None
            else None
        )
        if view is not None:
            relations, own_hidden = selectors.relation(view, participant, own)
            context.update(
                {
                    "relations": relations,
                    "own_hidden": own_hidden,
                    "map": view,
                    "min_compared": MIN_COMPARED,
                }
            )
            context["not_mapped_yet"] = not selectors.votes_published(result, participant)
    return render(request, "deliberation/you.html", context)


@access_level("public")
@_not_kept
def forget(request: HttpRequest, public_token: str) -> HttpResponse:
    """ "Forget me on this device", for a shared phone or computer: GET asks (a page, no
    script needed), POST deletes the participant cookie, so that the next person who
    opens the link starts afresh instead of carrying on as this one. The votes stay:
    they are counted, and in an anonymous conversation nothing could find them to
    delete. Someone whose votes are linked to their account is found again from it while
    signed in (_participant_id), so they are told to sign out too."""
    conversation = _public(public_token)
    name, _signer = _cookie(conversation)
    participant_id = _participant_id(request, conversation)
    context = {
        "conversation": conversation,
        # A cookie another account signed for counts too: it is this device's to forget.
        "known": participant_id is not None or name in request.COOKIES,
        "kept": _participation_note(request, conversation, participant_id),
        "with_code": conversation.access == Conversation.Access.CODES,
    }
    if request.method != "POST":
        return render(request, "deliberation/forget.html", context)
    response = render(request, "deliberation/forgotten.html", context)
    response.delete_cookie(name, path=conversation.get_public_url(), samesite="Lax")
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        # Participants remembered in the session before the cookie (LEGACY_SESSION_KEY).
        remembered = request.session.get(LEGACY_SESSION_KEY)
        if isinstance(remembered, dict) and str(conversation.pk) in remembered:
            del remembered[str(conversation.pk)]
            request.session.modified = True
    return response
