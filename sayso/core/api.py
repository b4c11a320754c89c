from __future__ import annotations

from django.http import Http404, HttpRequest
from ninja import Router, Schema

from .models import Community, Membership, Role
from .permissions import Access, access_for, needs_mfa

router = Router(tags=["communities"])


class CommunityOut(Schema):
    slug: str
    name: str
    kind: str
    description: str
    is_public: bool
    role: str | None
    is_advisor: bool


def community_for_api(
    request: HttpRequest, slug: str, level: str = "viewer"
) -> tuple[Community, Access]:
    """Outsiders get 404 whether or not the community exists; insiders without enough
    power get 403 (raised by the caller through ninja's HttpError)."""
    from ninja.errors import HttpError

    community = Community.objects.filter(slug=slug).first()
    if community is None:
        raise Http404
    access = access_for(request.user, community)
    if not access.can_view:
        raise Http404
    if not access.at_least(level):
        raise HttpError(403, "Your role in this community does not allow this.")
    if needs_mfa(request.user, community, access):
        raise HttpError(
            403, "This community asks organisers to use two-factor sign-in. Set it up first."
        )
    return community, access


def _out(community: Community, access: Access) -> CommunityOut:
    return CommunityOut(
        slug=community.slug,
        name=community.name,
        kind=community.kind,
        description=community.description,
        is_public=community.is_public,
        role=access.role.value if access.role else None,
        is_advisor=access.is_advisor,
    )


@router.get("/", response=list[CommunityOut], summary="Communities you belong to or advise")
def list_communities(request: HttpRequest) -> list[CommunityOut]:
    # Roles and grants for all of them in two queries, not two per community.
    user = request.auth  # type: ignore[attr-defined]  # set by TokenAuth: the token's user
    roles = dict(Membership.objects.filter(user=user).values_list("community_id", "role"))
    advised = set(Community.objects.advised_by(user).values_list("pk", flat=True))
    communities = Community.objects.filter(pk__in=set(roles) | advised)
    return [
        _out(
            c, Access(role=Role(roles[c.pk]) if c.pk in roles else None, is_advisor=c.pk in advised)
        )
        for c in communities
    ]


@router.get("/{slug}", response=CommunityOut, summary="One community")
def get_community(request: HttpRequest, slug: str) -> CommunityOut:
    community, access = community_for_api(request, slug)
    return _out(community, access)
