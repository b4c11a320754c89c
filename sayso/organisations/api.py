from __future__ import annotations

from django.db import IntegrityError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field, HttpUrl

from sayso.core.api import community_for_api
from sayso.core.models import Community

from . import services
from .models import DataPractice, LegalBasis, Organisation, SpecialCategory, Stage

router = Router(tags=["organisations"])


class OrganisationIn(Schema):
    name: str = Field(min_length=2, max_length=160)
    kind: Organisation.Kind = Organisation.Kind.OTHER
    website: HttpUrl | None = None
    data_protection_contact: str = Field(default="", max_length=200)
    foi_address: str = Field(default="", max_length=200)
    notes: str = ""
    is_published: bool = False


class OrganisationPatch(Schema):
    name: str | None = Field(default=None, min_length=2, max_length=160)
    kind: Organisation.Kind | None = None
    website: HttpUrl | None = None
    data_protection_contact: str | None = Field(default=None, max_length=200)
    foi_address: str | None = Field(default=None, max_length=200)
    notes: str | None = None
    is_published: bool | None = None


class OrganisationOut(Schema):
    id: int
    name: str
    kind: str
    website: str
    data_protection_contact: str
    foi_address: str
    notes: str
    is_published: bool


class PracticeIn(Schema):
    title: str = Field(min_length=3, max_length=160)
    description: str = ""
    stages: list[Stage] = Field(min_length=1)
    data_categories: list[str] = []
    special_categories: list[SpecialCategory] = []
    subjects: str = Field(default="", max_length=200)
    purposes: str = ""
    shared_with: str = ""
    retention: str = Field(default="", max_length=200)
    legal_basis: LegalBasis = LegalBasis.NOT_STATED
    systems: list[str] = []
    sources: list[HttpUrl] = []


class PracticeOut(Schema):
    id: int
    organisation_id: int
    title: str
    description: str
    stages: list[str]
    data_categories: list[str]
    special_categories: list[str]
    subjects: str
    purposes: str
    shared_with: str
    retention: str
    legal_basis: str
    systems: list[str]
    sources: list[str]


def _org_out(o: Organisation) -> OrganisationOut:
    return OrganisationOut(
        id=o.pk,
        name=o.name,
        kind=o.kind,
        website=o.website,
        data_protection_contact=o.data_protection_contact,
        foi_address=o.foi_address,
        notes=o.notes,
        is_published=o.is_published,
    )


def _practice_out(p: DataPractice) -> PracticeOut:
    return PracticeOut(
        id=p.pk,
        organisation_id=p.organisation_id,
        title=p.title,
        description=p.description,
        stages=list(p.stages),
        data_categories=p.category_list(),
        special_categories=list(p.special_categories),
        subjects=p.subjects,
        purposes=p.purposes,
        shared_with=p.shared_with,
        retention=p.retention,
        legal_basis=p.legal_basis,
        systems=p.system_list(),
        sources=p.source_list(),
    )


def _save_org(
    request: HttpRequest, organisation: Organisation, community: Community
) -> Organisation:
    try:
        return services.save_organisation(
            organisation=organisation, community=community, actor=request.user
        )
    except (services.DuplicateNameError, IntegrityError):
        # IntegrityError: a concurrent save won the race past the service's check.
        raise HttpError(409, "Your community already has an organisation with this name.") from None


@router.get("/{slug}/organisations", response=list[OrganisationOut])
def list_organisations(request: HttpRequest, slug: str) -> list[OrganisationOut]:
    community, _ = community_for_api(request, slug)
    return [_org_out(o) for o in Organisation.objects.filter(community=community)]


@router.post("/{slug}/organisations", response={201: OrganisationOut})
def create_organisation(
    request: HttpRequest, slug: str, payload: OrganisationIn
) -> Status[OrganisationOut]:
    community, _ = community_for_api(request, slug, "organiser")
    data = payload.dict()
    data["website"] = str(data["website"]) if data["website"] else ""
    return Status(201, _org_out(_save_org(request, Organisation(**data), community)))


@router.get("/{slug}/organisations/{org_id}", response=OrganisationOut)
def get_organisation(request: HttpRequest, slug: str, org_id: int) -> OrganisationOut:
    community, _ = community_for_api(request, slug)
    return _org_out(get_object_or_404(Organisation, pk=org_id, community=community))


@router.patch("/{slug}/organisations/{org_id}", response=OrganisationOut)
def update_organisation(
    request: HttpRequest, slug: str, org_id: int, payload: OrganisationPatch
) -> OrganisationOut:
    community, _ = community_for_api(request, slug, "organiser")
    organisation = get_object_or_404(Organisation, pk=org_id, community=community)
    for field, value in payload.dict(exclude_unset=True).items():
        if field == "website":
            value = str(value) if value else ""
        if value is not None:
            setattr(organisation, field, value)
    return _org_out(_save_org(request, organisation, community))


@router.delete("/{slug}/organisations/{org_id}", response={204: None})
def delete_organisation(request: HttpRequest, slug: str, org_id: int) -> Status[None]:
    community, _ = community_for_api(request, slug, "organiser")
    services.delete_organisation(
        organisation=get_object_or_404(Organisation, pk=org_id, community=community)
    )
    return Status(204, None)


@router.get("/{slug}/organisations/{org_id}/practices", response=list[PracticeOut])
def list_practices(request: HttpRequest, slug: str, org_id: int) -> list[PracticeOut]:
    community, _ = community_for_api(request, slug)
    organisation = get_object_or_404(Organisation, pk=org_id, community=community)
    return [_practice_out(p) for p in organisation.practices.all()]


def _practice_fields(payload: PracticeIn) -> dict[str, object]:
    data = payload.dict()
    chosen = set(data["stages"])
    data["stages"] = [s for s in Stage.values if s in chosen]
    data["special_categories"] = sorted(set(data["special_categories"]))
    data["data_categories"] = "\n".join(x.strip() for x in data["data_categories"] if x.strip())
    data["systems"] = "\n".join(x.strip() for x in data["systems"] if x.strip())
    data["sources"] = "\n".join(str(x) for x in data["sources"])
    return data


@router.post("/{slug}/organisations/{org_id}/practices", response={201: PracticeOut})
def create_practice(
    request: HttpRequest, slug: str, org_id: int, payload: PracticeIn
) -> Status[PracticeOut]:
    community, _ = community_for_api(request, slug, "organiser")
    organisation = get_object_or_404(Organisation, pk=org_id, community=community)
    practice = DataPractice(**_practice_fields(payload))
    return Status(
        201,
        _practice_out(
            services.save_practice(practice=practice, organisation=organisation, actor=request.user)
        ),
    )


@router.get("/{slug}/organisations/{org_id}/practices/{practice_id}", response=PracticeOut)
def get_practice(request: HttpRequest, slug: str, org_id: int, practice_id: int) -> PracticeOut:
    community, _ = community_for_api(request, slug)
    return _practice_out(
        get_object_or_404(DataPractice, pk=practice_id, organisation_id=org_id, community=community)
    )


@router.put("/{slug}/organisations/{org_id}/practices/{practice_id}", response=PracticeOut)
def replace_practice(
    request: HttpRequest, slug: str, org_id: int, practice_id: int, payload: PracticeIn
) -> PracticeOut:
    community, _ = community_for_api(request, slug, "organiser")
    practice = get_object_or_404(
        DataPractice, pk=practice_id, organisation_id=org_id, community=community
    )
    for field, value in _practice_fields(payload).items():
        setattr(practice, field, value)
    return _practice_out(
        services.save_practice(
            practice=practice, organisation=practice.organisation, actor=request.user
        )
    )


@router.delete("/{slug}/organisations/{org_id}/practices/{practice_id}", response={204: None})
def delete_practice(request: HttpRequest, slug: str, org_id: int, practice_id: int) -> Status[None]:
    community, _ = community_for_api(request, slug, "organiser")
    practice = get_object_or_404(
        DataPractice, pk=practice_id, organisation_id=org_id, community=community
    )
    services.delete_practice(practice=practice)
    return Status(204, None)
