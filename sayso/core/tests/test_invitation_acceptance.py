"""Who may accept an invitation, and at which role anyone may invite.

An invitation link is accepted only by an account that holds the invited address,
confirmed; whoever opens it while signed in as someone else is told so and nothing
changes. Nobody invites at a role they could not give by changing a role (organisers
invite members; the owner invites members and organisers), and accepting never lowers
a role.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from sayso.accounts.tests.factories import AdvisorFactory, UserFactory, verified
from sayso.core import permissions, services
from sayso.core.demo import DEMO_DOMAIN, DEMO_PASSWORD, load_demo
from sayso.core.models import AuditEvent, Community, Invitation, Membership, Role
from sayso.core.tests.factories import (
    AdvisorGrantFactory,
    CommunityFactory,
    InvitationFactory,
    MembershipFactory,
    audit_events,
    signed_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def depot() -> Community:
    return CommunityFactory.create(name="Depot Workers", slug="depot")


def person(name: str, *, email: str | None = None, confirmed: bool = True) -> Any:
    user = UserFactory.create(name=name, email=email or f"{name.lower()}@example.org")
    return verified(user) if confirmed else user


def join(community: Community, user: Any, role: str) -> Any:
    MembershipFactory.create(community=community, user=user, role=role)
    return user


def state(community: Community) -> dict[str, Any]:
    """Everything an acceptance may change: memberships, audit rows, used invitations."""
    return {
        "memberships": sorted(
            Membership.objects.filter(community=community).values_list("user__email", "role")
        ),
        "audit": AuditEvent.objects.filter(community=community).count(),
        "accepted": sorted(
            Invitation.objects.filter(accepted_at__isnull=False).values_list("pk", flat=True)
        ),
    }


def page_url(token: str) -> str:
    return reverse("accept-invitation", args=[token])


# --- the service: only the invited, confirmed address -----------------------------------


def test_a_member_signed_in_with_another_address_cannot_take_an_organiser_invitation(
    depot: Community,
) -> None:
    sam = join(depot, person("Sam"), Role.MEMBER)
    InvitationFactory.create(
        community=depot, raw_token="tok", email="newperson@elsewhere.example", role="organiser"
    )
    before = state(depot)
    with pytest.raises(services.InvitationError) as refused:
        services.accept_invitation(raw_token="tok", user=sam)
    assert isinstance(refused.value, services.WrongAccountError)
    assert state(depot) == before
    assert Membership.objects.get(community=depot, user=sam).role == Role.MEMBER
    assert Invitation.objects.get().accepted_at is None


def test_an_unconfirmed_copy_of_the_invited_address_is_not_enough(depot: Community) -> None:
    """allauth lets anyone add an address to their account; until it is confirmed it
    proves nothing."""
    lee = person("Lee")
    EmailAddress.objects.create(user=lee, email="sam@example.org", verified=False, primary=False)
    stranger = person("Sam", confirmed=False)  # primary address, never confirmed
    InvitationFactory.create(community=depot, raw_token="tok", email="sam@example.org")
    before = state(depot)
    for user in (lee, stranger):
        with pytest.raises(services.WrongAccountError):
            services.accept_invitation(raw_token="tok", user=user)
    assert state(depot) == before


def test_a_confirmed_second_address_matches_whatever_its_case(depot: Community) -> None:
    lee = person("Lee")
    EmailAddress.objects.create(user=lee, email="Lee.Work@Example.org", verified=True)
    InvitationFactory.create(community=depot, raw_token="tok", email="lee.work@example.org")
    membership = services.accept_invitation(raw_token="tok", user=lee)
    assert (membership.user, membership.role) == (lee, Role.MEMBER)
    assert audit_events(depot) == [
        (
            "member.joined",
            "Lee accepted an invitation as Member, sent to lee.work@example.org, and joined.",
        )
    ]


def test_holds_invited_address(depot: Community) -> None:
    sam, lee = person("Sam"), person("Lee")
    invitation = InvitationFactory.create(community=depot, email="sam@example.org")
    assert services.holds_invited_address(invitation=invitation, user=sam)
    assert not services.holds_invited_address(invitation=invitation, user=lee)


# --- the service: roles on acceptance --------------------------------------------------


def test_a_lower_invitation_never_lowers_a_role(depot: Community) -> None:
    sam = join(depot, person("Sam"), Role.ORGANISER)
    InvitationFactory.create(community=depot, raw_token="tok", email=sam.email, role="member")
    membership = services.accept_invitation(raw_token="tok", user=sam)
    assert membership.role == Role.ORGANISER
    assert Membership.objects.get(community=depot, user=sam).role == Role.ORGANISER
    assert audit_events(depot) == [
        (
            "member.joined",
            "Sam accepted an invitation as Member, sent to sam@example.org, and stays Organiser.",
        )
    ]


def test_the_owner_stays_owner_when_accepting_any_invitation(depot: Community) -> None:
    rosa = join(depot, person("Rosa"), Role.OWNER)
    InvitationFactory.create(community=depot, raw_token="tok", email=rosa.email, role="organiser")
    assert services.accept_invitation(raw_token="tok", user=rosa).role == Role.OWNER
    assert Membership.objects.get(community=depot, user=rosa).role == Role.OWNER


def test_a_higher_invitation_to_the_same_confirmed_address_raises_the_role(
    depot: Community,
) -> None:
    sam = join(depot, person("Sam"), Role.MEMBER)
    InvitationFactory.create(community=depot, raw_token="tok", email=sam.email, role="organiser")
    assert services.accept_invitation(raw_token="tok", user=sam).role == Role.ORGANISER
    assert Membership.objects.get(community=depot, user=sam).role == Role.ORGANISER
    assert audit_events(depot) == [
        (
            "member.role_changed",
            "Sam accepted an invitation as Organiser, sent to sam@example.org: raised from"
            " Member to Organiser.",
        )
    ]


# --- the page: the security reviewer's steps on the demo --------------------------------


def test_the_reviewers_steps_on_the_demo_change_nothing(
    smtp_sink: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.SITE_URL = "http://testserver"
    load_demo()
    eastbank = Community.objects.get(slug="eastbank-tenants")
    organiser = Client()
    assert organiser.login(email=f"organiser@{DEMO_DOMAIN}", password=DEMO_PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        response = organiser.post(
            "/c/eastbank-tenants/people/invite/",
            {"email": "newperson@elsewhere.example", "role": "organiser"},
        )
    assert response.status_code == 302
    (message,) = smtp_sink.wait_for(1)
    (link,) = re.findall(r"http://testserver(/invitations/[^\s/]+/)", smtp_sink.body(message))
    before = state(eastbank)

    member = Client()
    assert member.login(email=f"member@{DEMO_DOMAIN}", password=DEMO_PASSWORD)
    response = member.post(link)
    assert response.status_code == 403
    html = response.content.decode()
    assert "This invitation was sent to n•••@elsewhere.example." in html
    assert f"You are signed in as member@{DEMO_DOMAIN}." in html
    assert "newperson" not in html
    assert "Accept and join" not in html
    assert state(eastbank) == before
    assert Membership.objects.get(community=eastbank, user__email__startswith="member@").role == (
        Role.MEMBER
    )
    assert Invitation.objects.get(email="newperson@elsewhere.example").accepted_at is None


def test_opening_the_link_as_someone_else_explains_and_offers_sign_out(depot: Community) -> None:
    lee = join(depot, person("Lee"), Role.MEMBER)
    InvitationFactory.create(community=depot, raw_token="tok", email="sam@example.org")
    response = signed_in(lee).get(page_url("tok"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "This invitation was sent to s•••@example.org." in html
    assert "You are signed in as lee@example.org." in html
    assert "sam@example.org" not in html
    assert "Accept and join" not in html
    # Signing out comes back to the invitation, to sign in or up with the right address.
    assert f'action="{reverse("account_logout")}"' in html
    assert f'name="next" value="{page_url("tok")}"' in html
    assert "ask the organiser who invited you" in html


def test_an_unconfirmed_invited_address_on_the_account_is_named(depot: Community) -> None:
    lee = person("Lee")
    EmailAddress.objects.create(user=lee, email="sam@example.org", verified=False)
    InvitationFactory.create(community=depot, raw_token="tok", email="sam@example.org")
    html = signed_in(lee).get(page_url("tok")).content.decode()
    assert (
        "This invitation was sent to sam@example.org, which is on your account but not"
        " confirmed yet."
    ) in html
    assert reverse("account_email") in html
    assert "Accept and join" not in html


def test_signing_out_from_the_explanation_returns_to_the_invitation(depot: Community) -> None:
    lee = person("Lee")
    InvitationFactory.create(community=depot, raw_token="tok", email="sam@example.org")
    client = signed_in(lee)
    response = client.post(reverse("account_logout"), {"next": page_url("tok")})
    assert response.status_code == 302
    assert response["Location"] == page_url("tok")
    html = client.get(page_url("tok")).content.decode()
    assert "Sign in or create an account first." in html


def test_the_invited_person_accepts_from_the_page(depot: Community) -> None:
    sam = person("Sam")
    InvitationFactory.create(community=depot, raw_token="tok", email="sam@example.org")
    client = signed_in(sam)
    assert "Accept and join" in client.get(page_url("tok")).content.decode()
    response = client.post(page_url("tok"), follow=True)
    assert response.redirect_chain == [(depot.get_absolute_url(), 302)]
    assert "Welcome to Depot Workers." in response.content.decode()
    assert Membership.objects.get(community=depot, user=sam).role == Role.MEMBER


def test_the_page_says_when_a_role_is_raised_or_kept(depot: Community) -> None:
    sam = join(depot, person("Sam"), Role.MEMBER)
    InvitationFactory.create(community=depot, raw_token="up", email=sam.email, role="organiser")
    response = signed_in(sam).post(page_url("up"), follow=True)
    assert "You are now an organiser of Depot Workers." in response.content.decode()

    InvitationFactory.create(community=depot, raw_token="same", email=sam.email, role="member")
    response = signed_in(sam).post(page_url("same"), follow=True)
    assert "You are already an organiser of Depot Workers. Your role stays the same." in (
        response.content.decode()
    )
    assert Membership.objects.get(community=depot, user=sam).role == Role.ORGANISER


def test_signing_up_from_the_link_with_another_address_does_not_accept(depot: Community) -> None:
    """The link proves only the invited inbox: an account made from it with another
    address must confirm that address, and even then is not the invited person."""
    InvitationFactory.create(community=depot, raw_token="tok", email="sam@example.org")
    client = Client()
    client.get(page_url("tok"))
    response = client.post(
        reverse("account_signup") + "?next=" + page_url("tok"),
        {"email": "kim@example.org", "password1": "a long pass 9", "password2": "a long pass 9"},
    )
    assert response["Location"] != page_url("tok")
    assert not EmailAddress.objects.get(email="kim@example.org").verified
    before = state(depot)
    kim = EmailAddress.objects.get(email="kim@example.org").user
    EmailAddress.objects.filter(user=kim).update(verified=True)  # confirmed later, by email
    response = signed_in(kim).post(page_url("tok"))
    assert response.status_code == 403
    assert state(depot) == before


# --- inviting: only at roles the inviter could give -------------------------------------


def test_invitable_roles() -> None:
    assert permissions.invitable_roles(Role.OWNER) == [Role.MEMBER, Role.ORGANISER]
    assert permissions.invitable_roles(Role.ORGANISER) == [Role.MEMBER]
    assert permissions.invitable_roles(Role.MEMBER) == []
    assert permissions.invitable_roles(None) == []


def test_an_organiser_cannot_invite_an_organiser_or_owner(depot: Community) -> None:
    priya = join(depot, person("Priya"), Role.ORGANISER)
    for role in ("organiser", "owner"):
        with pytest.raises(services.ServiceError):
            services.invite(community=depot, inviter=priya, email="new@example.org", role=role)
    with pytest.raises(
        services.ServiceError,
        match=r"^Only the owner can invite organisers\. You can invite members\.$",
    ):
        services.invite(community=depot, inviter=priya, email="new@example.org", role="organiser")
    assert Invitation.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    invitation = services.invite(
        community=depot, inviter=priya, email="new@example.org", role="member"
    )
    assert invitation.role == Role.MEMBER


def test_people_without_organising_rights_cannot_invite(depot: Community) -> None:
    sam = join(depot, person("Sam"), Role.MEMBER)
    alex = AdvisorFactory.create(name="Alex")
    AdvisorGrantFactory.create(community=depot, advisor=alex)
    for inviter in (sam, alex, person("Stranger")):
        with pytest.raises(services.ServiceError, match="Only organisers and the owner"):
            services.invite(
                community=depot, inviter=inviter, email="new@example.org", role="member"
            )
    assert Invitation.objects.count() == 0


def test_the_owner_invites_organisers(depot: Community) -> None:
    rosa = join(depot, person("Rosa"), Role.OWNER)
    invitation = services.invite(
        community=depot, inviter=rosa, email="new@example.org", role="organiser"
    )
    assert invitation.role == Role.ORGANISER


def test_an_organisers_invite_form_offers_member_only(depot: Community) -> None:
    priya = join(depot, person("Priya"), Role.ORGANISER)
    html = signed_in(priya).get(reverse("core:invite", kwargs={"slug": depot.slug})).content
    page = html.decode()
    assert 'value="member"' in page
    assert 'value="organiser"' not in page
    assert 'value="owner"' not in page
    assert "Only the owner can invite organisers." in page


def test_the_owners_invite_form_offers_member_and_organiser(depot: Community) -> None:
    rosa = join(depot, person("Rosa"), Role.OWNER)
    page = signed_in(rosa).get(reverse("core:invite", kwargs={"slug": depot.slug})).content
    assert re.findall(r'name="role" value="(\w+)"', page.decode()) == ["member", "organiser"]


@pytest.mark.parametrize("role", ["organiser", "owner"])
def test_a_forged_role_from_an_organiser_is_refused_plainly(
    depot: Community, role: str, django_capture_on_commit_callbacks: Any
) -> None:
    priya = join(depot, person("Priya"), Role.ORGANISER)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = signed_in(priya).post(
            reverse("core:invite", kwargs={"slug": depot.slug}),
            {"email": "new@example.org", "role": role},
        )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="#id_role' in html  # the error summary points at the choice
    assert "You can invite people as members. Only the owner can invite organisers." in html
    assert callbacks == []
    assert Invitation.objects.count() == 0
    assert AuditEvent.objects.count() == 0


# --- invitations waiting: an organiser cannot undo the owner's invitation to organise ---


def owners_organiser_invitation(depot: Community) -> tuple[Any, Any, Invitation]:
    rosa = join(depot, person("Rosa"), Role.OWNER)
    priya = join(depot, person("Priya"), Role.ORGANISER)
    invitation = services.invite(
        community=depot, inviter=rosa, email="new@example.org", role="organiser"
    )
    return rosa, priya, invitation


def waiting(depot: Community) -> list[tuple[str, str]]:
    return sorted(Invitation.objects.pending().filter(community=depot).values_list("email", "role"))


def test_an_organiser_cannot_cancel_the_owners_invitation_to_organise(depot: Community) -> None:
    _rosa, priya, invitation = owners_organiser_invitation(depot)
    before = (waiting(depot), state(depot))
    response = signed_in(priya).post(
        reverse("core:invitation-cancel", kwargs={"slug": depot.slug, "pk": invitation.pk}),
        follow=True,
    )
    assert (
        "Only the owner can cancel an invitation to be an organiser." in response.content.decode()
    )
    assert (waiting(depot), state(depot)) == before
    # The members page offers them no button to try.
    page = signed_in(priya).get(reverse("core:members", kwargs={"slug": depot.slug}))
    assert "new@example.org" in page.content.decode()
    assert 'Cancel<span class="visually-hidden"> invitation to new@example.org' not in (
        page.content.decode()
    )
    assert "(only the owner can cancel this)" in page.content.decode()


def test_an_organiser_cannot_replace_the_owners_invitation_with_a_member_one(
    depot: Community,
) -> None:
    _rosa, priya, _invitation = owners_organiser_invitation(depot)
    before = (waiting(depot), state(depot))
    with pytest.raises(services.ServiceError, match="already has an invitation waiting"):
        services.invite(community=depot, inviter=priya, email="new@example.org", role="member")
    assert (waiting(depot), state(depot)) == before


def test_the_owner_cancels_their_invitation_and_an_organiser_cancels_a_members(
    depot: Community,
) -> None:
    rosa, priya, invitation = owners_organiser_invitation(depot)
    services.cancel_invitation(invitation=invitation, actor=rosa)
    members_invitation = services.invite(
        community=depot, inviter=rosa, email="sam@example.org", role="member"
    )
    response = signed_in(priya).post(
        reverse("core:invitation-cancel", kwargs={"slug": depot.slug, "pk": members_invitation.pk}),
        follow=True,
    )
    assert "Invitation to sam@example.org cancelled." in response.content.decode()
    assert waiting(depot) == []
