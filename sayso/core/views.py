"""Community shell views: thin. Bind the form, call one service, render."""

from __future__ import annotations

import copy

from allauth.account.adapter import get_adapter as get_account_adapter
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.core.paginator import Paginator
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from . import services
from .code_sheets import asked_sheet, keep_sheet
from .decorators import access_level, community_view, post_only
from .forms import (
    AdvisorGrantForm,
    CodeBatchForm,
    CommunityForm,
    CommunitySettingsForm,
    InvitationForm,
    RoleForm,
    TransferForm,
)
from .models import (
    AdvisorGrant,
    AuditEvent,
    Community,
    Invitation,
    InvitationCodeBatch,
    Membership,
    Role,
)
from .permissions import access_for, invitable_roles
from .registry import registry
from .selectors import sheet_codes, sheet_page, uses_by_activity


@access_level("public")
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "core/home.html",
        {
            "mine": Community.objects.of_user(user).distinct(),
            "advised": Community.objects.advised_by(user).distinct(),
            "public": Community.objects.public().exclude(memberships__user__pk=user.pk or 0)[:50],
        },
    )


@access_level("public")
def about_privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "core/about_privacy.html")


@access_level("authenticated")
@login_required
def community_create(request: HttpRequest) -> HttpResponse:
    form = CommunityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        community = services.create_community(creator=request.user, **form.cleaned_data)
        messages.success(
            request,
            _("%(name)s is ready. Start by adding the organisation whose data practices worry you.")
            % {"name": community.name},
        )
        return redirect(community)
    return render(request, "core/community_form.html", {"form": form})


@access_level("public")
def community(request: HttpRequest, slug: str) -> HttpResponse:
    """Members and advisors see the dashboard; anyone sees a public community's page."""
    found = Community.objects.filter(slug=slug).first()
    access = access_for(request.user, found) if found else None
    if found and access and access.can_view:
        return community_dashboard(request, slug)
    if found and found.is_public:
        published = [
            card
            for module in registry
            if module.public_section
            for card in [module.public_section(found)]
            if card
        ]
        return render(
            request, "core/community_public.html", {"community": found, "sections": published}
        )
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise Http404


@community_view("viewer")
def community_dashboard(request: HttpRequest, community: Community) -> HttpResponse:
    cards = [
        card
        for module in registry
        if module.dashboard_card
        and request.access.at_least(  # type: ignore[attr-defined]
            "viewer" if module.min_role == "member" else module.min_role
        )
        for card in [module.dashboard_card(community, request.access)]  # type: ignore[attr-defined]
        if card
    ]
    return render(request, "core/dashboard.html", {"community": community, "cards": cards})


@community_view("owner")
def community_settings(request: HttpRequest, community: Community) -> HttpResponse:
    # The form works on a copy: validating it writes what was typed into its instance,
    # and the page sent back with errors names the community by its saved name (title,
    # navigation), not a name that was refused along with another setting.
    form = CommunitySettingsForm(request.POST or None, instance=copy.copy(community))
    if request.method == "POST" and form.is_valid():
        services.update_community(
            community=form.instance, actor=request.user, changed=form.changed_data
        )
        messages.success(request, _("Settings saved."))
        return redirect("core:settings", slug=community.slug)
    return render(request, "core/settings.html", {"community": community, "form": form})


@community_view("organiser")
def members(request: HttpRequest, community: Community) -> HttpResponse:
    memberships = Membership.objects.filter(community=community).select_related("user")
    return render(
        request,
        "core/members.html",
        {
            "community": community,
            "memberships": memberships,
            "pending": Invitation.objects.pending().filter(community=community),
            # Invitations this reader may cancel: those they could have sent.
            "cancellable": invitable_roles(request.access.role),  # type: ignore[attr-defined]
            "role_form": RoleForm(),
            "grants": AdvisorGrant.objects.active()
            .filter(community=community)
            .select_related("advisor"),
        },
    )


@community_view("organiser")
def invite(request: HttpRequest, community: Community) -> HttpResponse:
    form = InvitationForm(
        request.POST or None,
        roles=invitable_roles(request.access.role),  # type: ignore[attr-defined]
    )
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invite(
                community=community,
                inviter=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except services.ServiceError as error:
            form.add_error("email", str(error))
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
            )
            return redirect("core:members", slug=community.slug)
    return render(request, "core/invite.html", {"community": community, "form": form})


@community_view("organiser")
@post_only
def invitation_cancel(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation.objects.pending(), pk=pk, community=community)
    try:
        services.cancel_invitation(invitation=invitation, actor=request.user)
    except services.ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("Invitation to %(email)s cancelled.") % {"email": invitation.email}
        )
    return redirect("core:members", slug=community.slug)


@community_view("owner")
@post_only
def member_role(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    membership = get_object_or_404(Membership, pk=pk, community=community)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose member or organiser."))
    else:
        try:
            services.change_role(
                membership=membership, new_role=form.cleaned_data["role"], actor=request.user
            )
        except services.ServiceError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("%(person)s is now %(role)s.")
                % {
                    "person": membership.user.display_name,
                    "role": membership.get_role_display().lower(),
                },
            )
    return redirect("core:members", slug=community.slug)


@community_view("owner")
@post_only
def member_remove(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    membership = get_object_or_404(Membership, pk=pk, community=community)
    try:
        services.remove_member(membership=membership, actor=request.user)
    except services.ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("%(person)s was removed.") % {"person": membership.user.display_name}
        )
    return redirect("core:members", slug=community.slug)


@community_view("member")
def leave(request: HttpRequest, community: Community) -> HttpResponse:
    if request.method == "POST":
        try:
            services.leave(community=community, user=request.user)
        except services.ServiceError as error:
            messages.error(request, str(error))
            return redirect("core:leave", slug=community.slug)
        messages.success(request, _("You have left %(name)s.") % {"name": community.name})
        return redirect("home")
    return render(request, "core/leave.html", {"community": community})


@community_view("owner")
def transfer(request: HttpRequest, community: Community) -> HttpResponse:
    form = TransferForm(request.POST or None, community=community, owner=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.transfer_ownership(
                community=community,
                owner=request.user,
                new_owner_membership=form.cleaned_data["new_owner"],
            )
        except services.ServiceError as error:
            form.add_error("new_owner", str(error))
        else:
            messages.success(request, _("Ownership transferred. You are now an organiser."))
            return redirect(community)
    return render(request, "core/transfer.html", {"community": community, "form": form})


@community_view("owner")
def advisors(request: HttpRequest, community: Community) -> HttpResponse:
    active = AdvisorGrant.objects.active().filter(community=community).select_related("advisor")
    available = (
        get_user_model()
        .objects.filter(is_advisor=True, is_active=True)
        .exclude(pk__in=active.values("advisor"))
    )
    form = AdvisorGrantForm(request.POST or None, advisors=available)
    if request.method == "POST" and form.is_valid():
        try:
            services.grant_advisor(
                community=community, advisor=form.cleaned_data["advisor"], actor=request.user
            )
        except services.ServiceError as error:
            form.add_error("advisor", str(error))
        else:
            messages.success(
                request,
                _("%(person)s can now see %(name)s.")
                % {"person": form.cleaned_data["advisor"].display_name, "name": community.name},
            )
            return redirect("core:advisors", slug=community.slug)
    return render(
        request, "core/advisors.html", {"community": community, "form": form, "grants": active}
    )


@community_view("owner")
@post_only
def advisor_revoke(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    grant = get_object_or_404(AdvisorGrant.objects.active(), pk=pk, community=community)
    services.revoke_advisor(grant=grant, actor=request.user)
    messages.success(
        request,
        _("%(person)s can no longer see %(name)s.")
        % {"person": grant.advisor.display_name, "name": community.name},
    )
    return redirect("core:advisors", slug=community.slug)


@community_view("owner")
def audit(request: HttpRequest, community: Community) -> HttpResponse:
    events = AuditEvent.objects.filter(community=community).select_related("actor")
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "core/audit.html", {"community": community, "page_obj": page})


@community_view("organiser")
def codes(request: HttpRequest, community: Community) -> HttpResponse:
    batches = InvitationCodeBatch.objects.filter(community=community)
    uses = uses_by_activity(community=community)
    code_sets = [(batch, uses.get(batch.pk, [])) for batch in batches]
    return render(request, "core/codes.html", {"community": community, "code_sets": code_sets})


@community_view("organiser")
def code_batch_new(request: HttpRequest, community: Community) -> HttpResponse:
    form = CodeBatchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        batch, raw_codes = services.create_code_batch(
            community=community, actor=request.user, **form.cleaned_data
        )
        # Post/redirect/get, as for a survey's codes: reloading the sheet shows the same
        # codes again instead of making another batch.
        sheet = reverse("core:code-sheet", kwargs={"slug": community.slug})
        response = redirect(f"{sheet}?{urlencode({'batch': batch.pk})}")
        keep_sheet(request, response, batch_id=batch.pk, codes=raw_codes)
        return response
    return render(request, "core/code_batch_form.html", {"community": community, "form": form})


@community_view("organiser")
def code_sheet(request: HttpRequest, community: Community) -> HttpResponse:
    """The sheet of codes just created (selectors.sheet_page), a page at a time. GET
    ?batch= shows a sheet this organiser made in the last day in this browser, kept
    encrypted in their session (code_sheets.keep_sheet); POST shows another page, the
    codes posted back signed from the sheet. The database alone never gives them back."""
    asked_for = asked_sheet(request)
    if asked_for is None:  # the sheet's address on its own: the form to make codes
        return render(
            request, "core/code_batch_form.html", {"community": community, "form": CodeBatchForm()}
        )
    asked, token = asked_for
    try:
        batch_id, raw_codes = sheet_codes(token, user_id=request.user.pk)
    except (signing.BadSignature, KeyError, TypeError):
        messages.error(
            request,
            _(
                "These codes can no longer be shown: a code sheet opens only from the page"
                " where the codes were made, by the organiser who made them, for a day (Sayso"
                " keeps no copy of the codes). If some were not printed, make new ones."
            ),
        )
        return redirect("core:codes", slug=community.slug)
    batch = get_object_or_404(InvitationCodeBatch, community=community, pk=batch_id)
    try:
        page = int(asked.get("page", "1"))
    except ValueError:
        page = 1
    return _code_sheet(request, community, batch, raw_codes, page)


def _code_sheet(
    request: HttpRequest,
    community: Community,
    batch: InvitationCodeBatch,
    raw_codes: list[str],
    page: int,
) -> HttpResponse:
    sheet = sheet_page(batch_id=batch.pk, user_id=request.user.pk, codes=raw_codes, page=page)
    response = render(
        request,
        "core/code_sheet.html",
        {"community": community, "batch": batch, "sheet": sheet},
    )
    response["Cache-Control"] = "private, no-store"  # the codes are not to be kept anywhere
    return response


@access_level("public")
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Only an account holding the invited address, confirmed, may accept: anyone
    else signed in is told so (and how to go on) and nothing changes."""
    try:
        invitation = services.find_invitation(token)
    except services.InvitationError as problem:
        return render(
            request, "core/invitation_problem.html", {"problem": str(problem)}, status=410
        )
    here = reverse("accept-invitation", args=[token])
    if not request.user.is_authenticated:
        # Following the emailed link proves the address is theirs: signing up with it
        # from here needs no second email to confirm it (allauth's verified stash; an
        # account made with any other address must still confirm it).
        get_account_adapter(request).stash_verified_email(request, invitation.email)
        return render(request, "core/invitation.html", {"invitation": invitation, "next": here})
    refused = 403 if request.method == "POST" else 200
    if not services.holds_invited_address(invitation=invitation, user=request.user):
        return _wrong_account(request, invitation, here, status=refused)
    if request.method == "POST":
        community = invitation.community
        before = (
            Membership.objects.filter(community=community, user=request.user)
            .values_list("role", flat=True)
            .first()
        )
        try:
            membership = services.accept_invitation(raw_token=token, user=request.user)
        except services.WrongAccountError:
            return _wrong_account(request, invitation, here, status=403)
        except services.InvitationError as problem:
            return render(
                request, "core/invitation_problem.html", {"problem": str(problem)}, status=410
            )
        name = {"name": community.name}
        if before is None:
            messages.success(request, _("Welcome to %(name)s.") % name)
        elif membership.role != before:  # an invitation raises a member to organiser only
            messages.success(request, _("You are now an organiser of %(name)s.") % name)
        else:
            already = {
                Role.MEMBER: _("You are already a member of %(name)s."),
                Role.ORGANISER: _("You are already an organiser of %(name)s."),
                Role.OWNER: _("You are already the owner of %(name)s."),
            }[Role(membership.role)]
            messages.info(request, f"{already % name} {_('Your role stays the same.')}")
        return redirect(community)
    return render(request, "core/invitation.html", {"invitation": invitation, "next": here})


def _wrong_account(
    request: HttpRequest, invitation: Invitation, here: str, *, status: int
) -> HttpResponse:
    """The signed-in account lacks the invited address, or has it unconfirmed."""
    from allauth.account.models import EmailAddress

    unconfirmed = EmailAddress.objects.filter(
        user=request.user, email__iexact=invitation.email, verified=False
    ).exists()
    return render(
        request,
        "core/invitation_wrong_account.html",
        {
            # The invited address in full only to an account that has it already.
            "invited": invitation.email if unconfirmed else _masked(invitation.email),
            "unconfirmed": unconfirmed,
            "next": here,
        },
        status=status,
    )


def _masked(email: str) -> str:
    """Enough of an address for its owner to recognise it ("n•••@elsewhere.example"),
    too little for anyone else to write to it."""
    local, _at, domain = email.rpartition("@")
    return f"{local[:1]}•••@{domain}"


@access_level("public")
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. No database access."""
    return JsonResponse({"status": "ok"})


@access_level("public")
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: the database answers and migrations are applied."""
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception:  # any database failure means "not ready"
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    if pending:
        return JsonResponse({"status": "unavailable", "database": "migrations pending"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


# --------------------------------------------------------------------------- evidence
EVIDENCE_PAGE = 20


def _evidence_place(request: HttpRequest, kinds: list[str]) -> dict[str, str]:
    """The Evidence page's kind and page number as asked (GET, or POST from the remove
    form), kept only when they are one of the kinds and a number."""
    asked = request.POST if request.method == "POST" else request.GET
    place = {}
    if asked.get("kind", "") in kinds:
        place["kind"] = asked["kind"]
    if asked.get("page", "").isdigit():
        place["page"] = asked["page"]
    return place


@community_view("viewer")
def evidence(request: HttpRequest, community: Community) -> HttpResponse:
    """Every citation of the community, newest first, a page at a time; members and
    advisors see those whose source shows its figures to them (selectors.evidence)."""
    from .selectors import evidence as readable
    from .selectors import evidence_items, evidence_kinds, evidence_sources

    kinds = evidence_kinds()
    kind = _evidence_place(request, [key for key, _label in kinds]).get("kind", "")
    citations = readable(
        community=community,
        access=request.access,  # type: ignore[attr-defined]
        kind=kind,
    )
    page = Paginator(citations, EVIDENCE_PAGE).get_page(request.GET.get("page"))
    kept = {"kind": kind} if kind else {}
    return render(
        request,
        "core/evidence.html",
        {
            "community": community,
            "page_obj": page,
            "items": evidence_items(list(page)),
            "kinds": kinds,
            "kind": kind,
            "kind_label": dict(kinds).get(kind, ""),
            "sources": evidence_sources(community),
            # The filter carried by the page links and the remove forms.
            "kind_query": f"{urlencode(kept)}&" if kept else "",
            "place_query": urlencode({**kept, "page": str(page.number)}),
        },
    )


@community_view("organiser")
def evidence_remove(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    """GET asks to confirm (a page, so it works without JavaScript); POST removes."""
    from .selectors import evidence_items, evidence_kinds

    citation = get_object_or_404(community.citations.select_related("cited_by"), pk=pk)
    place = _evidence_place(request, [key for key, _label in evidence_kinds()])
    back = reverse("core:evidence", kwargs={"slug": community.slug})
    if place:
        back += f"?{urlencode(place)}"
    title = str(citation.snapshot.get("title") or "")
    if citation.removed_at is not None:
        messages.info(request, _("This evidence was removed already."))
        return redirect(back)
    if request.method == "POST":
        try:
            services.remove_citation(citation=citation, actor=request.user)
        except services.ServiceError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Evidence removed: “%(title)s”") % {"title": title})
        return redirect(back)
    return render(
        request,
        "core/evidence_remove.html",
        {
            "community": community,
            "item": evidence_items([citation])[0],
            "title": title,
            "place": place,
            "back": back,
        },
    )
