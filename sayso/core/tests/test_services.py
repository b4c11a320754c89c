"""Services in sayso.core: exact outcomes, and nothing changed when a rule says no."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.urls import reverse
from django.utils import timezone

from sayso.accounts.tests.factories import AdvisorFactory, UserFactory, verified
from sayso.core import services
from sayso.core.demo import load_demo
from sayso.core.forms import CommunityForm
from sayso.core.models import (
    AdvisorGrant,
    AuditEvent,
    Citation,
    Community,
    Invitation,
    InvitationCode,
    InvitationCodeBatch,
    InvitationCodeUse,
    Membership,
    Role,
)
from sayso.core.permissions import access_for, needs_mfa
from sayso.core.registry import Module, registry
from sayso.core.selectors import batches_for
from sayso.core.tests.factories import (
    AdvisorGrantFactory,
    CommunityFactory,
    InvitationFactory,
    MembershipFactory,
    audit_events,
)

pytestmark = pytest.mark.django_db


def person(name: str, **extra: Any) -> Any:
    return UserFactory.create(name=name, email=f"{name.lower()}@example.org", **extra)


# --- create_community ------------------------------------------------------------------


def test_create_community_makes_the_creator_owner_and_audits() -> None:
    rosa = person("Rosa")
    community = services.create_community(
        creator=rosa, name="Depot Workers", slug="depot-workers", kind=Community.Kind.WORKPLACE
    )
    assert Community.objects.get().slug == "depot-workers"
    assert list(Membership.objects.values_list("community__slug", "user__email", "role")) == [
        ("depot-workers", "rosa@example.org", "owner")
    ]
    assert audit_events(community) == [("community.created", "Rosa created the community.")]


@pytest.mark.parametrize(
    "slug", ["Depot", "depot_workers", "-depot", "depot-", "depot--workers", "dépôt", ""]
)
def test_create_community_refuses_bad_slugs(slug: str) -> None:
    with pytest.raises(ValidationError) as raised:
        services.create_community(creator=person("Rosa"), name="Depot Workers", slug=slug)
    assert "slug" in raised.value.message_dict
    assert Community.objects.count() == 0
    assert Membership.objects.count() == 0
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize("slug", sorted(["new", "invitations", "admin", "api", "accounts"]))
def test_community_form_refuses_reserved_slugs(slug: str) -> None:
    form = CommunityForm(data={"name": "Depot Workers", "slug": slug, "kind": "workplace"})
    assert not form.is_valid()
    assert form.errors["slug"] == [f"'{slug}' is reserved. Choose another."]


def test_community_form_says_clearly_when_the_slug_is_taken() -> None:
    CommunityFactory.create(slug="depot-workers")
    form = CommunityForm(data={"name": "Depot Workers", "slug": "depot-workers", "kind": "other"})
    assert not form.is_valid()
    assert form.errors["slug"] == ["Another community already uses this web address."]
    assert Community.objects.count() == 1


def test_community_form_tidies_the_name() -> None:
    form = CommunityForm(data={"name": "  Depot   Workers ", "slug": "depot", "kind": "other"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["name"] == "Depot Workers"
    short = CommunityForm(data={"name": "ab", "slug": "depot", "kind": "other"})
    assert short.errors["name"] == ["Give a name of at least 3 characters."]


# --- invitations --------------------------------------------------------------------


@pytest.fixture
def depot() -> Community:
    return CommunityFactory.create(name="Depot Workers", slug="depot")


@pytest.fixture
def rosa(depot: Community) -> Any:
    return MembershipFactory.create(community=depot, user=person("Rosa"), role=Role.OWNER).user


def test_invite_sends_a_working_link_through_smtp(
    depot: Community,
    rosa: Any,
    smtp_sink: Any,
    django_capture_on_commit_callbacks: Any,
    client: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invite(
            community=depot, inviter=rosa, email=" Sam@Example.org ", role=Role.ORGANISER
        )
    (message,) = smtp_sink.wait_for(1)
    assert message["To"] == "sam@example.org"
    assert message["Subject"] == "You are invited to join Depot Workers on Sayso"
    body = smtp_sink.body(message)
    assert "Rosa has invited you to join Depot Workers on Sayso as Organiser." in body
    match = re.search(r"https?://\S+/invitations/(\S+)/", body)
    assert match is not None
    raw = match.group(1)
    assert invitation.digest == Invitation.digest_of(raw)
    assert raw not in {invitation.digest, *Invitation.objects.values_list("digest", flat=True)}
    assert invitation.email == "sam@example.org"
    assert audit_events(depot) == [("member.invited", "Rosa invited sam@example.org as Organiser.")]

    sam = verified(person("Sam"))  # the invited address, confirmed
    client.force_login(sam)
    response = client.post(reverse("accept-invitation", args=[raw]))
    assert response.status_code == 302
    assert response["Location"] == depot.get_absolute_url()
    assert Membership.objects.get(community=depot, user=sam).role == Role.ORGANISER


def test_reinvite_cancels_the_pending_invitation(
    depot: Community, rosa: Any, smtp_sink: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = services.invite(
            community=depot, inviter=rosa, email="sam@example.org", role="member"
        )
        second = services.invite(
            community=depot, inviter=rosa, email="SAM@example.org", role="member"
        )
    assert len(smtp_sink.wait_for(2)) == 2
    first.refresh_from_db()
    assert first.cancelled_at is not None
    assert list(Invitation.objects.pending()) == [second]


def test_cancel_invitation_is_audited(depot: Community, rosa: Any) -> None:
    invitation = InvitationFactory.create(community=depot, email="sam@example.org")
    services.cancel_invitation(invitation=invitation, actor=rosa)
    invitation.refresh_from_db()
    assert invitation.cancelled_at is not None
    assert audit_events(depot)[-1] == (
        "member.invitation_cancelled",
        "Rosa cancelled the invitation to sam@example.org.",
    )


def test_invite_refuses_existing_members_and_owner_role(depot: Community, rosa: Any) -> None:
    with pytest.raises(
        services.ServiceError, match=r"^rosa@example.org is already in this community\.$"
    ):
        services.invite(community=depot, inviter=rosa, email="ROSA@example.org", role="member")
    with pytest.raises(services.ServiceError, match="members or organisers"):
        services.invite(community=depot, inviter=rosa, email="sam@example.org", role="owner")
    assert Invitation.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_accept_invitation_is_single_use(depot: Community) -> None:
    InvitationFactory.create(
        community=depot, raw_token="tok", role=Role.MEMBER, email="sam@example.org"
    )
    sam = verified(person("Sam"))
    membership = services.accept_invitation(raw_token="tok", user=sam)
    assert (membership.community, membership.user, membership.role) == (depot, sam, "member")
    assert audit_events(depot) == [
        (
            "member.joined",
            "Sam accepted an invitation as Member, sent to sam@example.org, and joined.",
        )
    ]

    with pytest.raises(services.InvitationError, match="already been used"):
        services.accept_invitation(raw_token="tok", user=sam)
    assert Membership.objects.count() == 1
    assert AuditEvent.objects.count() == 1


def test_accept_invitation_refuses_expired_cancelled_and_unknown_links(
    depot: Community,
) -> None:
    expires = timezone.make_aware(dt.datetime(2024, 3, 5, 12, 0))
    InvitationFactory.create(community=depot, raw_token="old", expires_at=expires)
    InvitationFactory.create(community=depot, raw_token="gone", cancelled_at=timezone.now())
    sam = person("Sam")
    with pytest.raises(services.InvitationError) as expired:
        services.accept_invitation(raw_token="old", user=sam)
    assert str(expired.value) == (
        "This invitation expired on 5 March 2024. Ask the organiser to send a new one."
    )
    with pytest.raises(services.InvitationError, match="replaced or cancelled"):
        services.accept_invitation(raw_token="gone", user=sam)
    with pytest.raises(services.InvitationError, match="not valid"):
        services.accept_invitation(raw_token="never-issued", user=sam)
    assert Membership.objects.count() == 0
    assert Invitation.objects.filter(accepted_at__isnull=False).count() == 0


def test_concurrent_claims_leave_one_membership(depot: Community) -> None:
    """Two tabs both pass the first check; the conditional update lets one through."""
    InvitationFactory.create(community=depot, raw_token="tok", email="sam@example.org")
    sam = verified(person("Sam"))
    stale = services.find_invitation("tok")  # read by the second tab before the first commits
    services.accept_invitation(raw_token="tok", user=sam)
    with (
        mock.patch.object(services, "find_invitation", return_value=stale),
        pytest.raises(services.InvitationError, match="already been used"),
    ):
        services.accept_invitation(raw_token="tok", user=sam)
    assert list(Membership.objects.values_list("user__name", flat=True)) == ["Sam"]
    assert AuditEvent.objects.count() == 1


def test_accepting_an_organiser_invitation_promotes_an_existing_member(depot: Community) -> None:
    """Only an invitation to an address the member holds, confirmed (see
    test_invitation_acceptance.py for everyone else)."""
    sam = MembershipFactory.create(community=depot, user=verified(person("Sam"))).user
    InvitationFactory.create(
        community=depot, raw_token="tok", role=Role.ORGANISER, email="sam@example.org"
    )
    assert services.accept_invitation(raw_token="tok", user=sam).role == Role.ORGANISER
    assert Membership.objects.get(user=sam).role == Role.ORGANISER


# --- roles ------------------------------------------------------------------------------


def test_change_role_audits_with_exact_summary(depot: Community, rosa: Any) -> None:
    sam = MembershipFactory.create(community=depot, user=person("Sam"))
    services.change_role(membership=sam, new_role=Role.ORGANISER, actor=rosa)
    sam.refresh_from_db()
    assert sam.role == Role.ORGANISER
    assert audit_events(depot) == [
        ("member.role_changed", "Rosa changed Sam from Member to Organiser.")
    ]


def test_change_role_cannot_touch_the_owner_or_make_owners(depot: Community, rosa: Any) -> None:
    owner = Membership.objects.get(user=rosa)
    sam = MembershipFactory.create(community=depot, user=person("Sam"))
    with pytest.raises(services.ServiceError, match="Transfer ownership first"):
        services.change_role(membership=owner, new_role=Role.MEMBER, actor=rosa)
    with pytest.raises(services.ServiceError, match="Transfer ownership"):
        services.change_role(membership=sam, new_role=Role.OWNER, actor=rosa)
    with pytest.raises(services.ServiceError, match="Choose member, organiser or owner"):
        services.change_role(membership=sam, new_role="admin", actor=rosa)
    assert dict(Membership.objects.values_list("user__name", "role")) == {
        "Rosa": "owner",
        "Sam": "member",
    }
    assert AuditEvent.objects.count() == 0


def test_change_role_to_the_same_role_records_nothing(depot: Community, rosa: Any) -> None:
    sam = MembershipFactory.create(community=depot, user=person("Sam"))
    services.change_role(membership=sam, new_role=Role.MEMBER, actor=rosa)
    assert AuditEvent.objects.count() == 0


def test_remove_member(depot: Community, rosa: Any) -> None:
    sam = MembershipFactory.create(community=depot, user=person("Sam"))
    services.remove_member(membership=sam, actor=rosa)
    assert list(Membership.objects.values_list("user__name", flat=True)) == ["Rosa"]
    assert audit_events(depot) == [("member.removed", "Rosa removed Sam.")]
    with pytest.raises(services.ServiceError, match="owner cannot be removed"):
        services.remove_member(membership=Membership.objects.get(user=rosa), actor=rosa)
    assert Membership.objects.count() == 1


def test_leave(depot: Community, rosa: Any) -> None:
    sam = MembershipFactory.create(community=depot, user=person("Sam")).user
    services.leave(community=depot, user=sam)
    assert not Membership.objects.filter(user=sam).exists()
    assert audit_events(depot) == [("member.left", "Sam left the community.")]


def test_owner_cannot_leave(depot: Community, rosa: Any) -> None:
    with pytest.raises(services.ServiceError, match=r"^You are the owner\. Transfer ownership"):
        services.leave(community=depot, user=rosa)
    assert Membership.objects.get(user=rosa).role == Role.OWNER
    assert AuditEvent.objects.count() == 0


def test_transfer_ownership(depot: Community, rosa: Any) -> None:
    sam = MembershipFactory.create(community=depot, user=person("Sam"))
    services.transfer_ownership(community=depot, owner=rosa, new_owner_membership=sam)
    assert dict(Membership.objects.values_list("user__name", "role")) == {
        "Rosa": "organiser",
        "Sam": "owner",
    }
    assert audit_events(depot) == [("ownership.transferred", "Rosa made Sam the owner.")]


def test_transfer_ownership_refusals(depot: Community, rosa: Any) -> None:
    sam = MembershipFactory.create(community=depot, user=person("Sam"))
    elsewhere = MembershipFactory.create(user=person("Tom"))
    with pytest.raises(services.ServiceError, match="Only the owner"):
        services.transfer_ownership(community=depot, owner=sam.user, new_owner_membership=sam)
    with pytest.raises(services.ServiceError, match="another person in this community"):
        services.transfer_ownership(community=depot, owner=rosa, new_owner_membership=elsewhere)
    with pytest.raises(services.ServiceError, match="another person in this community"):
        services.transfer_ownership(
            community=depot, owner=rosa, new_owner_membership=Membership.objects.get(user=rosa)
        )
    assert dict(Membership.objects.filter(community=depot).values_list("user__name", "role")) == {
        "Rosa": "owner",
        "Sam": "member",
    }
    assert AuditEvent.objects.count() == 0


# --- advisors ------------------------------------------------------------------------


def test_grant_and_revoke_advisor_controls_access(depot: Community, rosa: Any) -> None:
    alex = AdvisorFactory.create(name="Alex")
    assert access_for(alex, depot).can_view is False
    grant = services.grant_advisor(community=depot, advisor=alex, actor=rosa)
    access = access_for(alex, depot)
    assert (access.can_view, access.is_advisor, access.is_member, access.can_organise) == (
        True,
        True,
        False,
        False,
    )
    assert list(Community.objects.advised_by(alex)) == [depot]

    with pytest.raises(services.ServiceError, match=r"^Alex can already see this community\.$"):
        services.grant_advisor(community=depot, advisor=alex, actor=rosa)

    services.revoke_advisor(grant=grant, actor=rosa)
    assert access_for(alex, depot).can_view is False
    assert list(Community.objects.advised_by(alex)) == []
    services.revoke_advisor(grant=grant, actor=rosa)  # a second revoke changes nothing
    assert audit_events(depot) == [
        ("advisor.granted", "Rosa gave advisor Alex access."),
        ("advisor.revoked", "Rosa removed advisor Alex's access."),
    ]
    # Granting again after a revoke is allowed.
    services.grant_advisor(community=depot, advisor=alex, actor=rosa)
    assert access_for(alex, depot).can_view is True


def test_grant_refuses_people_who_are_not_advisors(depot: Community, rosa: Any) -> None:
    sam = person("Sam")
    with pytest.raises(services.ServiceError, match=r"^Sam is not a Sayso advisor\.$"):
        services.grant_advisor(community=depot, advisor=sam, actor=rosa)
    assert AdvisorGrant.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_advisor_flag_alone_gives_no_access(depot: Community) -> None:
    alex = AdvisorFactory.create()
    AdvisorGrantFactory.create(advisor=alex)  # a grant in another community
    assert access_for(alex, depot).can_view is False
    demoted = AdvisorGrantFactory.create(community=depot).advisor
    demoted.is_advisor = False
    demoted.save()
    assert access_for(demoted, depot).can_view is False


# --- invitation codes ----------------------------------------------------------------


def test_code_batch_stores_only_digests(depot: Community, rosa: Any) -> None:
    batch, codes = services.create_code_batch(
        community=depot, actor=rosa, label="Night shift survey", size=25
    )
    assert len(codes) == len(set(codes)) == 25
    assert all(re.fullmatch(r"[A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5}", code) for code in codes)
    stored = set(InvitationCode.objects.filter(batch=batch).values_list("digest", flat=True))
    assert stored == {InvitationCode.digest_of(code) for code in codes}
    assert not stored & set(codes)
    assert audit_events(depot) == [
        ("codes.created", "Rosa created 25 invitation codes: Night shift survey.")
    ]


# Core does not import surveys or conversations (import rule 4): any saved model stands
# for one here. tests/test_code_uses.py redeems codes in real surveys and conversations.


@pytest.fixture
def activities() -> tuple[Community, Community]:
    return CommunityFactory.create(name="Night shift survey"), CommunityFactory.create(
        name="Scanner rules conversation"
    )


def uses() -> list[tuple[str, int]]:
    return sorted(InvitationCodeUse.objects.values_list("code__digest", "activity_id"))


def test_redeem_code_works_once_per_activity_and_records_no_date(
    depot: Community, rosa: Any, activities: tuple[Community, Community]
) -> None:
    survey, conversation = activities
    batch, codes = services.create_code_batch(community=depot, actor=rosa, label="x", size=3)
    typed = codes[0].lower().replace("-", " ")  # read off paper, typed loosely
    assert services.redeem_code(batch=batch, raw_code=typed, activity=survey) is True
    assert services.redeem_code(batch=batch, raw_code=codes[0], activity=conversation) is True
    before = uses()
    assert services.redeem_code(batch=batch, raw_code=codes[0], activity=survey) is False
    assert services.redeem_code(batch=batch, raw_code=typed, activity=conversation) is False
    assert services.redeem_code(batch=batch, raw_code="ZZZZZ-ZZZZZ", activity=survey) is False
    assert uses() == before
    digest = InvitationCode.digest_of(codes[0])
    assert before == sorted([(digest, survey.pk), (digest, conversation.pk)])
    counted = InvitationCodeBatch.objects.with_used_counts(activity=survey).get()
    assert counted.used == 1  # type: ignore[attr-defined]  # annotated count
    # No link from a code to whatever it unlocked: a code is its batch and digest; a use
    # is the code and the activity. No date either: a response keeps the day it started,
    # so on a day with one use the use's date would pick out the answers it unlocked.
    assert {f.name for f in InvitationCode._meta.get_fields()} == {"id", "batch", "digest", "uses"}
    assert {f.name for f in InvitationCodeUse._meta.get_fields()} == {
        "id",
        "code",
        "activity_type",
        "activity_id",
        "activity",
    }
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(
            cursor, InvitationCodeUse._meta.db_table
        )
    assert sorted(column.name for column in columns) == [
        "activity_id",
        "activity_type_id",
        "code_id",
        "id",
    ]


def test_used_counts_are_for_the_activity_asked_about(
    depot: Community, rosa: Any, activities: tuple[Community, Community]
) -> None:
    survey, conversation = activities
    batch, codes = services.create_code_batch(community=depot, actor=rosa, label="x", size=5)
    other, theirs = services.create_code_batch(community=depot, actor=rosa, label="y", size=2)
    for code in codes[:4]:
        assert services.redeem_code(batch=batch, raw_code=code, activity=survey)
    for code in codes[3:]:
        assert services.redeem_code(batch=batch, raw_code=code, activity=conversation)
    assert services.redeem_code(batch=other, raw_code=theirs[0], activity=conversation)

    def counts(activity: models.Model) -> dict[str, int]:
        batches = InvitationCodeBatch.objects.with_used_counts(activity=activity)
        return {b.label: b.used for b in batches}  # type: ignore[attr-defined]

    assert counts(survey) == {"x": 4, "y": 0}
    assert counts(conversation) == {"x": 2, "y": 1}
    assert counts(depot) == {"x": 0, "y": 0}


def test_a_use_gets_a_random_id_not_one_counting_up(
    depot: Community, rosa: Any, activities: tuple[Community, Community]
) -> None:
    """Ids counting up would give the order in which codes were used, and with it the
    order of the answers they unlocked."""
    survey, _conversation = activities
    batch, codes = services.create_code_batch(community=depot, actor=rosa, label="x", size=30)
    for code in codes:
        assert services.redeem_code(batch=batch, raw_code=code, activity=survey)
    in_order = [
        InvitationCodeUse.objects.get(code__digest=InvitationCode.digest_of(code)).pk
        for code in codes
    ]
    # Counting up, even with gaps, would be sorted: one chance in 30! (about 4e-33).
    assert in_order != sorted(in_order)
    assert min(in_order) > 30


def test_a_clash_of_random_ids_is_tried_again_not_taken_for_a_used_code(
    depot: Community, rosa: Any, activities: tuple[Community, Community]
) -> None:
    survey, _conversation = activities
    batch, codes = services.create_code_batch(community=depot, actor=rosa, label="x", size=2)
    assert services.redeem_code(batch=batch, raw_code=codes[0], activity=survey)
    taken = InvitationCodeUse.objects.get().pk
    field = InvitationCodeUse._meta.get_field("id")
    with mock.patch.object(field, "get_default", side_effect=[taken, taken + 1]):
        assert services.redeem_code(batch=batch, raw_code=codes[1], activity=survey) is True
    assert sorted(InvitationCodeUse.objects.values_list("pk", flat=True)) == [taken, taken + 1]


def test_codes_of_one_batch_do_not_work_in_another(
    depot: Community, rosa: Any, activities: tuple[Community, Community]
) -> None:
    survey, _conversation = activities
    first, codes = services.create_code_batch(community=depot, actor=rosa, label="a", size=1)
    second, _ = services.create_code_batch(community=depot, actor=rosa, label="b", size=1)
    assert services.redeem_code(batch=second, raw_code=codes[0], activity=survey) is False
    assert not InvitationCodeUse.objects.exists()
    assert services.redeem_code(batch=first, raw_code=codes[0], activity=survey) is True


def test_a_code_from_any_of_several_batches_works_once_per_activity(
    depot: Community, rosa: Any, activities: tuple[Community, Community]
) -> None:
    survey, conversation = activities
    first, old = services.create_code_batch(community=depot, actor=rosa, label="a", size=1)
    second, new = services.create_code_batch(community=depot, actor=rosa, label="b", size=1)
    other, theirs = services.create_code_batch(community=depot, actor=rosa, label="c", size=1)
    both = [first.pk, second.pk]
    assert services.redeem_code_in(batch_ids=both, raw_code=theirs[0], activity=survey) is False
    assert services.redeem_code_in(batch_ids=[], raw_code=old[0], activity=survey) is False
    assert not InvitationCodeUse.objects.exists()
    assert services.redeem_code_in(batch_ids=both, raw_code=old[0], activity=survey) is True
    assert services.redeem_code_in(batch_ids=both, raw_code=old[0], activity=survey) is False
    assert services.redeem_code_in(batch_ids=both, raw_code=new[0].lower(), activity=survey)
    assert services.redeem_code_in(batch_ids=both, raw_code=new[0], activity=survey) is False
    assert services.redeem_code_in(batch_ids=both, raw_code=old[0], activity=conversation)
    assert not InvitationCodeUse.objects.filter(code__batch=other).exists()
    assert InvitationCodeUse.objects.count() == 3


def test_an_unsaved_activity_takes_no_code(depot: Community, rosa: Any) -> None:
    batch, codes = services.create_code_batch(community=depot, actor=rosa, label="a", size=1)
    unsaved = Community(name="Not saved", slug="not-saved")
    assert services.redeem_code(batch=batch, raw_code=codes[0], activity=unsaved) is False
    assert not InvitationCodeUse.objects.exists()


def test_batches_for_a_purpose_are_the_ones_made_for_it(depot: Community, rosa: Any) -> None:
    first, _ = services.create_code_batch(
        community=depot, actor=rosa, label="a", size=1, purpose=depot
    )
    second, _ = services.create_code_batch(
        community=depot, actor=rosa, label="b", size=1, purpose=depot
    )
    services.create_code_batch(community=depot, actor=rosa, label="general", size=1)
    assert set(batches_for(depot)) == {first, second}


@pytest.mark.parametrize("size", [0, services.MAX_CODES_PER_BATCH + 1])
def test_code_batch_size_limits(depot: Community, rosa: Any, size: int) -> None:
    with pytest.raises(services.ServiceError, match="between 1 and 2000"):
        services.create_code_batch(community=depot, actor=rosa, label="x", size=size)
    assert InvitationCodeBatch.objects.count() == 0
    assert AuditEvent.objects.count() == 0


# --- citations --------------------------------------------------------------------------


@pytest.fixture
def figure_evidence() -> Iterator[str]:
    """A module that offers a citable evidence type, registered for one test."""
    module = Module(
        key="test-evidence", label="Test", nav_url_name="home", evidence_types=("test.figure",)
    )
    registry.register(module)
    try:
        yield "test.figure"
    finally:
        registry._modules.pop(module.key)


def test_cite_keeps_a_snapshot_and_links_back(
    depot: Community, rosa: Any, figure_evidence: str
) -> None:
    source = MembershipFactory.create(community=depot)  # any community-scoped record will do
    citation = services.cite(
        community=depot,
        source=source,
        evidence_type=figure_evidence,
        snapshot={"title": "62% agree", "n": 120},
        actor=rosa,
        note="from the survey",
    )
    citation.refresh_from_db()
    assert citation.source == source
    assert citation.source_type == ContentType.objects.get_for_model(Membership)
    assert (citation.snapshot, citation.note, citation.cited_by) == (
        {"title": "62% agree", "n": 120},
        "from the survey",
        rosa,
    )
    assert str(citation) == "62% agree"


def test_cite_refuses_unknown_types_and_other_communities(
    depot: Community, rosa: Any, figure_evidence: str
) -> None:
    with pytest.raises(services.ServiceError, match="cannot be cited"):
        services.cite(
            community=depot,
            source=MembershipFactory.create(community=depot),
            evidence_type="made.up",
            snapshot={},
            actor=rosa,
        )
    with pytest.raises(services.ServiceError, match="within its own community"):
        services.cite(
            community=depot,
            source=MembershipFactory.create(),
            evidence_type=figure_evidence,
            snapshot={},
            actor=rosa,
        )
    assert Citation.objects.count() == 0


def test_find_citation_matches_the_same_figures_whenever_they_were_cited(
    depot: Community, rosa: Any, figure_evidence: str
) -> None:
    source = MembershipFactory.create(community=depot)
    first = services.cite(
        community=depot,
        source=source,
        evidence_type=figure_evidence,
        snapshot={"n": 120, "percent": 62, "date": "2026-11-30"},
        actor=rosa,
    )

    def find(snapshot: dict[str, Any], **options: Any) -> Any:
        return services.find_citation(
            community=depot,
            source=source,
            evidence_type=figure_evidence,
            snapshot=snapshot,
            **options,
        )

    again = {"n": 120, "percent": 62, "date": "2026-12-01"}
    assert find(again, ignoring={"date"}) == first
    assert find(again) is None  # the day counts unless it is left out
    assert find({"n": 121, "percent": 62, "date": "2026-12-01"}, ignoring={"date"}) is None
    other = MembershipFactory.create(community=depot)
    assert (
        services.find_citation(
            community=depot,
            source=other,
            evidence_type=figure_evidence,
            snapshot=again,
            ignoring={"date"},
        )
        is None
    )


# --- demo -----------------------------------------------------------------------------


def counts() -> dict[str, int]:
    from django.apps import apps

    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label in {"core", "accounts", "organisations", "account"}
    }


def test_demo_loader_is_idempotent() -> None:
    first = load_demo()
    after_first = counts()
    second = load_demo()
    assert (first.created, second.created) == (True, False)
    assert counts() == after_first
    assert after_first["core.Community"] == 3
    assert after_first["accounts.User"] == 3
    assert after_first["core.Membership"] == 6
    assert after_first["core.AdvisorGrant"] == 1
    assert after_first["organisations.Organisation"] == 4
    assert after_first["organisations.DataPractice"] == 5


# --- MFA -------------------------------------------------------------------------------


def test_needs_mfa_only_for_organisers_of_communities_that_require_it(
    depot: Community, rosa: Any
) -> None:
    from allauth.mfa.models import Authenticator

    sam = MembershipFactory.create(community=depot, user=person("Sam")).user
    assert needs_mfa(rosa, depot, access_for(rosa, depot)) is False
    depot.require_mfa_for_organisers = True
    depot.save()
    assert needs_mfa(rosa, depot, access_for(rosa, depot)) is True
    assert needs_mfa(sam, depot, access_for(sam, depot)) is False
    Authenticator.objects.create(user=rosa, type=Authenticator.Type.TOTP, data={"secret": "x"})
    assert needs_mfa(rosa, depot, access_for(rosa, depot)) is False


def test_mfa_requirement_redirects_organiser_pages(
    depot: Community, rosa: Any, client: Any
) -> None:
    from allauth.mfa.models import Authenticator

    depot.require_mfa_for_organisers = True
    depot.save()
    client.force_login(rosa)
    url = reverse("core:members", kwargs={"slug": depot.slug})
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    Authenticator.objects.create(user=rosa, type=Authenticator.Type.TOTP, data={"secret": "x"})
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_the_demo_command_names_the_address_sayso_is_served_on() -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("demo", address="http://127.0.0.1:8047", stdout=out)
    assert "Sign in at http://127.0.0.1:8047/accounts/login/" in out.getvalue()
    out = StringIO()
    call_command("demo", stdout=out)  # run again: nothing new, the default address
    assert "Checked the demo" in out.getvalue()
    assert "Sign in at http://127.0.0.1:8000/accounts/login/" in out.getvalue()
