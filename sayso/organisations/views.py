from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from sayso.core.decorators import community_view, post_only
from sayso.core.models import Community

from . import services
from .forms import DataPracticeForm, OrganisationForm
from .models import DataPractice, Organisation
from .selectors import data_cycle


@community_view("viewer")
def organisation_list(request: HttpRequest, community: Community) -> HttpResponse:
    organisations = (
        Organisation.objects.filter(community=community)
        .select_related("community")  # each card links with the community's slug
        .annotate(practice_count=Count("practices"))
    )
    return render(
        request, "organisations/list.html", {"community": community, "organisations": organisations}
    )


def _saved(form: OrganisationForm, community: Community, actor: Any) -> bool:
    """Save through the service; a name taken meanwhile (another organiser saving at the
    same moment) becomes a message beside the name, with everything typed kept."""
    try:
        services.save_organisation(organisation=form.instance, community=community, actor=actor)
    except ValidationError as refused:  # DuplicateNameError among them
        for field, problems in refused.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
        return False
    except IntegrityError:
        form.add_error("name", _("Your community already has an organisation with this name."))
        return False
    return True


@community_view("organiser")
def organisation_create(request: HttpRequest, community: Community) -> HttpResponse:
    form = OrganisationForm(request.POST or None, community=community)
    if request.method == "POST" and form.is_valid() and _saved(form, community, request.user):
        organisation = form.instance
        messages.success(
            request,
            _("%(name)s added. Now record what it does with data.") % {"name": organisation.name},
        )
        return redirect(organisation)
    return render(
        request, "organisations/organisation_form.html", {"community": community, "form": form}
    )


@community_view("viewer")
def organisation_detail(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    organisation = get_object_or_404(Organisation, pk=pk, community=community)
    practices = list(organisation.practices.select_related("community"))
    return render(
        request,
        "organisations/detail.html",
        {
            "community": community,
            "organisation": organisation,
            "practices": practices,
            "cycle": data_cycle(practices),
        },
    )


@community_view("organiser")
def organisation_edit(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    organisation = get_object_or_404(Organisation, pk=pk, community=community)
    form = OrganisationForm(request.POST or None, instance=organisation, community=community)
    if request.method == "POST" and form.is_valid() and _saved(form, community, request.user):
        messages.success(request, _("Changes saved."))
        return redirect(organisation)
    return render(
        request,
        "organisations/organisation_form.html",
        {"community": community, "form": form, "organisation": organisation},
    )


@community_view("organiser")
def organisation_delete(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    organisation = get_object_or_404(Organisation, pk=pk, community=community)
    if request.method == "POST":
        services.delete_organisation(organisation=organisation)
        messages.success(
            request,
            _("%(name)s and its data practices were deleted.") % {"name": organisation.name},
        )
        return redirect("organisations:list", slug=community.slug)
    return render(
        request,
        "organisations/confirm_delete.html",
        {"community": community, "object": organisation},
    )


@community_view("organiser")
def practice_create(request: HttpRequest, community: Community, pk: int) -> HttpResponse:
    organisation = get_object_or_404(Organisation, pk=pk, community=community)
    form = DataPracticeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        practice = services.save_practice(
            practice=form.instance, organisation=organisation, actor=request.user
        )
        messages.success(
            request, _("Data practice '%(title)s' recorded.") % {"title": practice.title}
        )
        return redirect(organisation)
    return render(
        request,
        "organisations/practice_form.html",
        {"community": community, "organisation": organisation, "form": form},
    )


@community_view("viewer")
def practice_detail(
    request: HttpRequest, community: Community, pk: int, practice: int
) -> HttpResponse:
    found = get_object_or_404(
        DataPractice.objects.select_related("organisation"),
        pk=practice,
        organisation_id=pk,
        community=community,
    )
    return render(
        request,
        "organisations/practice_detail.html",
        {"community": community, "organisation": found.organisation, "practice": found},
    )


@community_view("organiser")
def practice_edit(
    request: HttpRequest, community: Community, pk: int, practice: int
) -> HttpResponse:
    found = get_object_or_404(DataPractice, pk=practice, organisation_id=pk, community=community)
    form = DataPracticeForm(request.POST or None, instance=found)
    if request.method == "POST" and form.is_valid():
        services.save_practice(
            practice=form.instance, organisation=found.organisation, actor=request.user
        )
        messages.success(request, _("Changes saved."))
        return redirect(found)
    return render(
        request,
        "organisations/practice_form.html",
        {
            "community": community,
            "organisation": found.organisation,
            "form": form,
            "practice": found,
        },
    )


@community_view("organiser")
@post_only
def practice_delete(
    request: HttpRequest, community: Community, pk: int, practice: int
) -> HttpResponse:
    found = get_object_or_404(DataPractice, pk=practice, organisation_id=pk, community=community)
    organisation = found.organisation
    services.delete_practice(practice=found)
    messages.success(request, _("Data practice '%(title)s' deleted.") % {"title": found.title})
    return redirect(organisation)
