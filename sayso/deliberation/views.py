from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from sayso.core.decorators import access_level, community_view
from sayso.core.models import Citation, Community
from sayso.core.permissions import access_for
from sayso.core.services import ServiceError, redeem_code

from . import selectors, services
from .forms import (
    CiteForm,
    CodeForm,
    ConversationForm,
    ImportForm,
    ModerationForm,
    SeedStatementForm,
    StatementForm,
    VoteForm,
)
from .models import Conversation, OpinionMapResult, Participant, Statement, Vote
from .svg import opinion_map_svg

SESSION_KEY = "deliberation"


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
    conversations = (
        Conversation.objects.filter(community=community)
        .select_related("community")
        .annotate(
            n_participants=_count(Participant),
            n_statements=_count(Statement, state=Statement.State.ACCEPTED),
            n_pending=_count(Statement, state=Statement.State.PENDING),
        )
    )
    return render(
        request,
        "deliberation/list.html",
        {"community": community, "conversations": conversations},
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
    statements = Statement.objects.filter(conversation=found).annotate(n_votes=Count("votes"))
    counts = Participant.objects.filter(conversation=found).aggregate(n=Count("pk"))
    return render(
        request,
        "deliberation/detail.html",
        {
            "community": community,
            "conversation": found,
            "statements": statements,
            "participants": counts["n"],
            "public_url": request.build_absolute_uri(found.get_public_url()),
            "seed_form": SeedStatementForm(),
        },
    )


@community_view("organiser")
def conversation_edit(
    request: HttpRequest, community: Community, conversation: int
) -> HttpResponse:
    found = _conversation(community, conversation)
    form = ConversationForm(
        request.POST or None, instance=found, community=community, creating=False
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_conversation(conversation=form.instance, actor=request.user)
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Changes saved."))
            return redirect(found)
    return render(
        request,
        "deliberation/conversation_form.html",
        {"community": community, "form": form, "conversation": found},
    )


@community_view("organiser")
def statement_add(request: HttpRequest, community: Community, conversation: int) -> HttpResponse:
    found = _conversation(community, conversation)
    form = SeedStatementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_seed_statement(
                conversation=found,
                text=form.cleaned_data["text"],
                is_meta=form.cleaned_data["is_meta"],
                actor=request.user,
            )
        except ServiceError as error:
            form.add_error("text", str(error))
        else:
            messages.success(request, _("Statement added."))
            return redirect(found)
    return render(
        request,
        "deliberation/statement_form.html",
        {"community": community, "conversation": found, "form": form},
    )


@community_view("organiser")
def conversation_state(
    request: HttpRequest, community: Community, conversation: int
) -> HttpResponse:
    """GET asks to confirm; POST closes an open conversation or reopens a closed one."""
    found = _conversation(community, conversation)
    if request.method == "POST":
        services.set_state(conversation=found, open=not found.is_open, actor=request.user)
        messages.success(
            request,
            _("The conversation is open again.")
            if found.is_open
            else _("The conversation is closed. Its final results are being worked out."),
        )
        return redirect(found)
    return render(
        request, "deliberation/state_confirm.html", {"community": community, "conversation": found}
    )


@community_view("organiser")
def moderate(request: HttpRequest, community: Community, conversation: int) -> HttpResponse:
    found = _conversation(community, conversation)
    state = request.GET.get("show", Statement.State.PENDING)
    if state not in Statement.State.values:
        state = Statement.State.PENDING
    queue = selectors.moderation_queue(found, state)
    form = ModerationForm(
        request.POST or None, choices=[(item.statement.pk, item.statement.text) for item in queue]
    )
    if request.method == "POST" and form.is_valid():
        accept = form.cleaned_data["action"] == "accept"
        changed = services.moderate(
            conversation=found,
            statement_ids=form.cleaned_data["statements"],
            accept=accept,
            actor=request.user,
        )
        messages.success(
            request,
            (_("%(n)s statement(s) accepted.") if accept else _("%(n)s statement(s) rejected."))
            % {"n": changed},
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
        },
    )


def _report_context(conversation: Conversation, community: Community) -> dict[str, Any]:
    threshold = community.small_group_threshold
    context = selectors.report(conversation, threshold)
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
        context["citations"] = Citation.objects.filter(
            community=community,
            source_id__in=Statement.objects.filter(conversation=found).values("pk"),
            evidence_type__in=services.EVIDENCE_TYPES,
        ).select_related("cited_by")
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
    statement = get_object_or_404(Statement, pk=form.cleaned_data["statement"], conversation=found)
    snapshot = selectors.citation_snapshot(
        found,
        statement,
        form.cleaned_data["kind"],
        form.cleaned_data["group"],
        community.small_group_threshold,
    )
    if snapshot is None:
        messages.error(
            request, _("That statement is not in the current results, so it cannot be cited.")
        )
        return redirect(report_url)
    evidence_type = (
        services.EVIDENCE_CONSENSUS
        if form.cleaned_data["kind"] == "consensus"
        else services.EVIDENCE_GROUP_STATEMENT
    )
    services.cite_statement(
        conversation=found,
        statement=statement,
        evidence_type=evidence_type,
        snapshot=snapshot,
        actor=request.user,
    )
    messages.success(request, _("Cited as evidence: “%(title)s”.") % {"title": snapshot["title"]})
    return redirect(report_url + "#citations")


@community_view("organiser")
def export(request: HttpRequest, community: Community, conversation: int) -> HttpResponse:
    found = _conversation(community, conversation)
    payload = services.export_polis(conversation=found, actor=request.user)
    response = HttpResponse(payload, content_type="application/zip")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="conversation-{found.pk}-polis-{stamp}.zip"'
    )
    return response


@community_view("organiser")
def import_polis(request: HttpRequest, community: Community) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            export_data = services.read_polis_upload(form.polis_files())
            conversation = services.import_polis(
                community=community,
                actor=request.user,
                export=export_data,
                topic=form.cleaned_data["topic"],
                description=form.cleaned_data["description"],
            )
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _(
                    "Imported. The opinion map is being worked out and will appear in the report shortly."
                ),
            )
            return redirect(conversation)
    return render(request, "deliberation/import.html", {"community": community, "form": form})


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


def _session_participant(request: HttpRequest, conversation: Conversation) -> int | None:
    value = request.session.get(SESSION_KEY, {}).get(str(conversation.pk))
    if value is None and not conversation.anonymous and request.user.is_authenticated:
        value = (
            Participant.objects.filter(conversation=conversation, user=request.user)
            .values_list("pk", flat=True)
            .first()
        )
    return int(value) if value is not None else None


def _remember(request: HttpRequest, conversation: Conversation, participant: Participant) -> None:
    joined = dict(request.session.get(SESSION_KEY, {}))
    joined[str(conversation.pk)] = participant.pk
    request.session[SESSION_KEY] = joined


def _may_join(request: HttpRequest, conversation: Conversation) -> str:
    """'yes', 'sign-in', 'not-member' or 'code'."""
    if conversation.access == Conversation.Access.MEMBERS:
        if not request.user.is_authenticated:
            return "sign-in"
        if not access_for(request.user, conversation.community).is_member:
            return "not-member"
    if conversation.access == Conversation.Access.CODES:
        return "code"
    return "yes"


def _card_context(
    request: HttpRequest, conversation: Conversation, participant_id: int | None
) -> dict[str, Any]:
    items = selectors.deck(conversation, participant_id)
    weights = getattr(conversation, "map_priority", None) or {}
    return {
        "conversation": conversation,
        "statement": selectors.statement_text(selectors.next_statement(items, weights))
        if conversation.is_open
        else None,
        "progress": selectors.progress(items),
        "items": items,
    }


@access_level("public")
def participate(request: HttpRequest, public_token: str) -> HttpResponse:
    conversation = _public(public_token)
    participant_id = _session_participant(request, conversation)
    gate = "yes" if participant_id else _may_join(request, conversation)
    error = ""
    code_form = CodeForm()
    if request.method == "POST" and "code" in request.POST and gate == "code":
        code_form = CodeForm(request.POST)
        if code_form.is_valid():
            batch = conversation.code_batch
            if batch is not None and redeem_code(
                batch=batch, raw_code=code_form.cleaned_data["code"]
            ):
                try:
                    participant = services.join(conversation=conversation)
                except ServiceError as refused:
                    error = str(refused)
                else:
                    _remember(request, conversation, participant)
                    return redirect(conversation.get_public_url())
            else:
                code_form.add_error(
                    "code",
                    _(
                        "This code is not valid or has already been used. Check it against your card."
                    ),
                )
    elif request.method == "POST":
        form = VoteForm(request.POST)
        if gate != "yes":
            error = _("You need to join this conversation before you can vote.")
        elif not form.is_valid():
            error = _("Choose agree, disagree or pass.")
        else:
            items = selectors.deck(conversation, participant_id)
            try:
                if participant_id is None:
                    participant = services.join(conversation=conversation, user=request.user)
                    _remember(request, conversation, participant)
                    participant_id = participant.pk
                services.cast_vote(
                    conversation=conversation,
                    participant=participant_id,
                    statement_id=form.cleaned_data["statement"],
                    value=form.value,
                    shown_ids=items.keys(),
                )
            except ServiceError as refused:
                error = str(refused)
            else:
                if not request.htmx:  # type: ignore[attr-defined]
                    return redirect(conversation.get_public_url(), permanent=False)
                voted = form.cleaned_data["statement"]
                items[voted] = selectors.DeckItem(voted, items[voted].is_meta, True)
                context: dict[str, Any] = {
                    "conversation": conversation,
                    "statement": selectors.statement_text(
                        selectors.next_statement(
                            items, getattr(conversation, "map_priority", None) or {}
                        )
                    ),
                    "progress": selectors.progress(items),
                    "announce": _("Vote recorded."),
                }
                return render(request, "deliberation/participate.html#card", context)
    context = _card_context(request, conversation, participant_id if gate == "yes" else None)
    context.update(
        {
            "gate": gate,
            "error": error,
            "code_form": code_form,
            "min_votes": _min_votes(context["progress"].total),
        }
    )
    if request.htmx and request.method == "POST":  # type: ignore[attr-defined]
        return render(request, "deliberation/participate.html#card", context)
    return render(request, "deliberation/participate.html", context)


def _min_votes(total: int) -> int:
    return min(7, total) if total else 7


@access_level("public")
def participant_statement(request: HttpRequest, public_token: str) -> HttpResponse:
    conversation = _public(public_token)
    participant_id = _session_participant(request, conversation)
    gate = "yes" if participant_id else _may_join(request, conversation)
    form = StatementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if gate != "yes":
            form.add_error(None, _("Join the conversation before adding a statement."))
        else:
            try:
                if participant_id is None:
                    participant = services.join(conversation=conversation, user=request.user)
                    _remember(request, conversation, participant)
                else:
                    participant = Participant.objects.get(
                        pk=participant_id, conversation=conversation
                    )
                statement = services.add_participant_statement(
                    conversation=conversation,
                    participant=participant,
                    text=form.cleaned_data["text"],
                )
            except ServiceError as error:
                form.add_error("text", str(error))
            else:
                messages.success(
                    request,
                    _("Thank you. Your statement will appear once an organiser has checked it.")
                    if statement.state == Statement.State.PENDING
                    else _("Thank you. Your statement is now part of the conversation."),
                )
                return redirect(conversation.get_public_url())
    return render(
        request,
        "deliberation/participant_statement.html",
        {"conversation": conversation, "form": form, "gate": gate},
    )


def _may_read_results(request: HttpRequest, conversation: Conversation) -> bool:
    if conversation.access == Conversation.Access.LINK:
        return True
    if request.user.is_authenticated and access_for(request.user, conversation.community).is_member:
        return True
    return _session_participant(request, conversation) is not None


@access_level("public")
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


@access_level("public")
def you(request: HttpRequest, public_token: str) -> HttpResponse:
    """How the participant's votes relate to each opinion group."""
    conversation = _public(public_token)
    threshold = conversation.community.small_group_threshold
    participant_id = _session_participant(request, conversation)
    context: dict[str, Any] = {"conversation": conversation}
    participant = (
        Participant.objects.filter(pk=participant_id, conversation=conversation).first()
        if participant_id
        else None
    )
    votes = Vote.objects.filter(participant=participant).count() if participant else 0
    total = (
        Statement.objects.filter(conversation=conversation)
        .filter(conversation.shown_statements_filter())
        .count()
    )
    context.update({"votes": votes, "min_votes": _min_votes(total)})
    if not conversation.results_visible:
        context["hidden"] = True
    elif participant is not None and votes >= context["min_votes"]:
        view = selectors.map_view(
            OpinionMapResult.objects.filter(conversation=conversation).first(), threshold
        )
        if view is not None:
            relations, own_hidden = selectors.relation(view, participant, threshold)
            context.update({"relations": relations, "own_hidden": own_hidden, "map": view})
            context["not_mapped_yet"] = participant.pk not in view.participant_group
    return render(request, "deliberation/you.html", context)
