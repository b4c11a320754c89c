"""The community's Evidence page (views.evidence, selectors.evidence): every citation of
the community in one place, newest first, a page at a time, filtered by kind; each
module says how its snapshots read, where they came from and which of them members and
advisors may see (the registry's evidence hooks). Organisers remove a citation after a
confirmation page; the row is kept, marked removed, and the removal audit-logged.

Core cannot import the apps (DESIGN rule 4), so these tests register a module of their
own; tests/test_evidence_page.py cites real survey results and conversation statements.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.test import Client
from django.urls import reverse

from sayso.accounts.tests.factories import AdvisorFactory
from sayso.core import services
from sayso.core.models import AuditEvent, Citation, Community, Membership, Role
from sayso.core.registry import Module, registry
from sayso.core.tests.factories import (
    AdvisorGrantFactory,
    CommunityFactory,
    MembershipFactory,
    audit_events,
    signed_in,
)

pytestmark = pytest.mark.django_db

SHARED = "test.shared"  # members and advisors may read these (evidence_shown)
PRIVATE = "test.private"  # organisers only
OTHER = "test.other"  # another module's kind, with no template or links


def _links(citations: Sequence[Citation]) -> dict[int, tuple[str, str]]:
    """Each citation's source, a membership, named by its id; a gone one left out."""
    here = {m.pk for m in Membership.objects.filter(pk__in=[c.source_id for c in citations])}
    return {
        c.pk: (f"Record {c.source_id}", f"/records/{c.source_id}/")
        for c in citations
        if c.source_id in here
    }


@pytest.fixture
def evidence_modules() -> Iterator[None]:
    """Two citable modules, registered for one test: one describing its citations in
    full (links, template, what members see), one saying nothing but its kind."""
    modules = [
        Module(
            key="test-figures",
            label="Figures",
            nav_url_name="home",
            evidence_types=(SHARED, PRIVATE),
            evidence_links=_links,
            evidence_template="core/tests/evidence_item.html",
            evidence_shown=lambda community: Q(evidence_type=SHARED),
        ),
        Module(key="test-other", label="Others", nav_url_name="home", evidence_types=(OTHER,)),
    ]
    for module in modules:
        registry.register(module)
    try:
        yield
    finally:
        for module in modules:
            registry._modules.pop(module.key)


@pytest.fixture
def depot(db: None) -> Community:
    community: Community = CommunityFactory.create(slug="depot", name="Depot")
    return community


@pytest.fixture
def rosa(depot: Community) -> Any:
    return MembershipFactory.create(community=depot, role=Role.ORGANISER, user__name="Rosa").user


def client_for(user: Any) -> Client:
    """A client signed in as `user`, or a signed-out one for None."""
    return Client() if user is None else signed_in(user)


def cite(
    community: Community, actor: Any, title: str, evidence_type: str = SHARED, **extra: Any
) -> Citation:
    return services.cite(
        community=community,
        source=MembershipFactory.create(community=community),
        evidence_type=evidence_type,
        snapshot={"title": title, **extra},
        actor=actor,
    )


def page_url(community: Community, **query: Any) -> str:
    url = reverse("core:evidence", kwargs={"slug": community.slug})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def remove_url(citation: Citation) -> str:
    return reverse(
        "core:evidence-remove", kwargs={"slug": citation.community.slug, "pk": citation.pk}
    )


def listed(html: str) -> list[str]:
    """The titles the page lists, in order."""
    return re.findall(r"<h3><bdi>(.*?)</bdi></h3>", html)


@pytest.fixture(autouse=True)
def _item_template(settings: Any, tmp_path: Any) -> None:
    """The test module's template, as an app would ship it."""
    folder = tmp_path / "core" / "tests"
    folder.mkdir(parents=True)
    (folder / "evidence_item.html").write_text("<p>n = {{ citation.snapshot.n }}</p>")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0].get("DIRS", []), tmp_path]}
    ]


# --------------------------------------------------------------------------- who sees it


def test_anonymous_people_are_sent_to_sign_in_and_outsiders_get_not_found(
    depot: Community, rosa: Any, evidence_modules: None
) -> None:
    cite(depot, rosa, "62% agree")
    url = page_url(depot)
    anonymous = client_for(None).get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"{reverse('account_login')}?next={url}"
    elsewhere = MembershipFactory.create(role=Role.ORGANISER).user  # organiser of another
    assert client_for(elsewhere).get(url).status_code == 404
    revoked = AdvisorGrantFactory.create(community=depot, advisor=AdvisorFactory.create())
    revoked.revoked_at = revoked.granted_at
    revoked.save()
    assert client_for(revoked.advisor).get(url).status_code == 404
    # A community that does not exist answers the same as one they are outside of.
    missing = reverse("core:evidence", kwargs={"slug": "no-such-place"})
    assert client_for(elsewhere).get(missing).status_code == 404
    assert client_for(None).get(missing).status_code == 302


def test_organisers_see_every_citation_members_and_advisors_what_its_module_shows_them(
    depot: Community, rosa: Any, evidence_modules: None
) -> None:
    cite(depot, rosa, "Shared figure")
    cite(depot, rosa, "Open survey figure", evidence_type=PRIVATE)
    cite(depot, rosa, "Another module's figure", evidence_type=OTHER)
    cite(CommunityFactory.create(), rosa, "Elsewhere")
    member = MembershipFactory.create(community=depot, role=Role.MEMBER).user
    advisor = AdvisorGrantFactory.create(community=depot).advisor
    owner = MembershipFactory.create(community=depot, role=Role.OWNER).user
    everything = ["Another module&#x27;s figure", "Open survey figure", "Shared figure"]
    for organiser in (rosa, owner):
        html = client_for(organiser).get(page_url(depot)).content.decode()
        assert listed(html) == everything
        assert "3 pieces of evidence" in html
        assert "is listed here once its results are shown to members" not in html
    for reader in (member, advisor):
        response = client_for(reader).get(page_url(depot))
        assert response.status_code == 200
        html = response.content.decode()
        # A module without evidence_shown keeps its citations for organisers.
        assert listed(html) == ["Shared figure"]
        assert "1 piece of evidence" in html
        assert "is listed here once its results are shown to members" in html
        assert "Remove" not in html
        assert "/remove/" not in html


def test_the_navigation_has_evidence_for_everyone_inside(
    depot: Community, rosa: Any, evidence_modules: None
) -> None:
    member = MembershipFactory.create(community=depot, role=Role.MEMBER).user
    advisor = AdvisorGrantFactory.create(community=depot).advisor
    url = page_url(depot)
    for reader in (rosa, member, advisor):
        home = client_for(reader).get(reverse("core:community", kwargs={"slug": depot.slug}))
        assert f'<li><a href="{url}">Evidence</a></li>' in home.content.decode()
        here = client_for(reader).get(url).content.decode()
        assert f'<li><a href="{url}" aria-current="page">Evidence</a></li>' in here


# --------------------------------------------------------------------------- the list


def test_each_citation_says_what_was_cited_where_from_when_and_by_whom(
    depot: Community, rosa: Any, evidence_modules: None
) -> None:
    shared = cite(depot, rosa, "62% of 120 agree", n=120)
    shared.note = "Use this with the\nhealth and safety committee."
    shared.save(update_fields=["note"])
    other = cite(depot, rosa, "A case elsewhere", evidence_type=OTHER, n=7)
    gone = cite(depot, rosa, "A deleted source", n=9)
    Membership.objects.filter(pk=gone.source_id).delete()
    html = client_for(rosa).get(page_url(depot)).content.decode()
    assert listed(html) == ["A deleted source", "A case elsewhere", "62% of 120 agree"]
    when = shared.cited_at.strftime("%-d %B %Y")
    first = html.split("<h3><bdi>62% of 120 agree</bdi></h3>")[1].split("</li>")[0]
    assert "<p>n = 120</p>" in first  # the module's own words for its snapshot
    assert f'<a href="/records/{shared.source_id}/">Record {shared.source_id}</a>' in first
    assert f"<dd>{when}, by Rosa</dd>" in first
    assert "<dd>Use this with the<br>health and safety committee.</dd>" in first
    # A kind no module describes shows its title only: no figures made up, no link.
    second = html.split("<h3><bdi>A case elsewhere</bdi></h3>")[1].split("</li>")[0]
    assert "n = 7" not in second
    assert "<dd>No longer in Sayso" in second
    assert "Note" not in second
    third = html.split("<h3><bdi>A deleted source</bdi></h3>")[1].split("</li>")[0]
    assert "<dd>No longer in Sayso: it was deleted after it was cited.</dd>" in third
    assert "/records/" not in third
    assert other.source_id != shared.source_id
    # Someone who left Sayso since.
    get_user_model().objects.filter(pk=rosa.pk).delete()
    another = MembershipFactory.create(community=depot, role=Role.ORGANISER).user
    html = client_for(another).get(page_url(depot)).content.decode()
    assert f"<dd>{when}, by someone no longer in Sayso</dd>" in html


def test_the_remove_buttons_are_named_by_what_they_remove(
    depot: Community, rosa: Any, evidence_modules: None
) -> None:
    first = cite(depot, rosa, "62% agree")
    second = cite(depot, rosa, "Cameras are unfair")
    html = client_for(rosa).get(page_url(depot)).content.decode()
    for citation in (first, second):
        title = citation.snapshot["title"]
        assert (
            f'<a class="button button--small button--danger" href="{remove_url(citation)}'
            f'?page=1">Remove<span class="visually-hidden"> <bdi>{title}</bdi></span></a>'
        ) in html
    assert '<ol class="evidence-list" aria-labelledby="evidence-heading">' in html
    assert '<h2 id="evidence-heading">2 pieces of evidence</h2>' in html


def test_filter_by_kind_with_a_plain_form(
    depot: Community, rosa: Any, evidence_modules: None
) -> None:
    cite(depot, rosa, "Shared figure")
    cite(depot, rosa, "Another module's figure", evidence_type=OTHER)
    client = client_for(rosa)
    html = client.get(page_url(depot)).content.decode()
    assert '<form method="get">' in html
    assert '<label for="id_kind">Show evidence from</label>' in html
    assert '<option value="test-figures">Figures</option>' in html
    html = client.get(page_url(depot, kind="test-figures")).content.decode()
    assert listed(html) == ["Shared figure"]
    assert '<option value="test-figures" selected>Figures</option>' in html
    assert "1 piece of evidence from Figures" in html
    assert "<title>Evidence from Figures" in html
    html = client.get(page_url(depot, kind="test-other")).content.decode()
    assert listed(html) == ["Another module&#x27;s figure"]
    # Nothing of a kind: said so, with the way back to everything.
    Citation.objects.filter(evidence_type=OTHER).delete()
    html = client.get(page_url(depot, kind="test-other")).content.decode()
    assert listed(html) == []
    assert "No evidence from Others yet" in html
    assert f'<a href="{page_url(depot)}">Show evidence from everywhere</a>' in html
    # A kind that is not one is ignored: everything is listed.
    html = client.get(page_url(depot, kind="made-up")).content.decode()
    assert listed(html) == ["Shared figure"]
    assert "selected" not in html.split('id="id_kind"')[1].split("</select>")[0]


def test_newest_first_a_page_at_a_time_keeping_the_kind(
    depot: Community, rosa: Any, evidence_modules: None
) -> None:
    made = [cite(depot, rosa, f"Figure {i}") for i in range(23)]
    cite(depot, rosa, "Another module's figure", evidence_type=OTHER)
    client = client_for(rosa)
    first = client.get(page_url(depot, kind="test-figures")).content.decode()
    assert listed(first) == [f"Figure {i}" for i in range(22, 2, -1)]
    assert "Newest first: 1 to 20." in first
    assert '<a href="?kind=test-figures&amp;page=2" rel="next">Next page</a>' in first
    assert '<span aria-current="page">Page 1 of 2</span>' in first
    second = client.get(page_url(depot, kind="test-figures", page=2)).content.decode()
    assert listed(second) == ["Figure 2", "Figure 1", "Figure 0"]
    assert '<a href="?kind=test-figures&amp;page=1" rel="prev">Previous page</a>' in second
    assert f"{remove_url(made[0])}?kind=test-figures&amp;page=2" in second
    # Out of range or not a number: the nearest page, as elsewhere.
    assert listed(client.get(page_url(depot, page=99)).content.decode())[-1] == "Figure 0"
    assert listed(client.get(page_url(depot, page="x")).content.decode())[0] == (
        "Another module&#x27;s figure"
    )


def test_the_page_reads_the_same_number_of_times_for_any_number_of_citations(
    depot: Community, rosa: Any, evidence_modules: None, django_assert_num_queries: Any
) -> None:
    client = client_for(rosa)
    cite(depot, rosa, "One")
    cite(depot, rosa, "Other", evidence_type=OTHER)
    client.get(page_url(depot))  # content types and the session warmed up

    def queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(page_url(depot)).status_code == 200
        return len(captured)

    few = queries()
    for i in range(18):
        cite(depot, rosa, f"Figure {i}")
    assert queries() == few


def test_an_empty_page_says_what_evidence_is_and_how_to_cite(
    depot: Community, rosa: Any, evidence_modules: None
) -> None:
    html = client_for(rosa).get(page_url(depot)).content.decode()
    assert "<h2>No evidence yet</h2>" in html
    assert "a figure from a survey, with how many people answered" in html
    assert (
        "press “Cite as evidence” beside a figure in a survey's results, "
        "or “Cite” beside a statement in a conversation's report"
    ) in html
    member = MembershipFactory.create(community=depot, role=Role.MEMBER).user
    html = client_for(member).get(page_url(depot)).content.decode()
    assert "Organisers cite it from a survey's results" in html


# --------------------------------------------------------------------------- removing


def test_an_organiser_removes_a_citation_after_confirming(
    depot: Community, rosa: Any, evidence_modules: None
) -> None:
    kept = cite(depot, rosa, "Kept figure")
    citation = cite(depot, rosa, "Cameras are unfair")
    client = client_for(rosa)
    url = remove_url(citation)
    confirm = client.get(url, {"kind": "test-figures", "page": "1"})
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "<h1>Remove this evidence?</h1>" in html
    assert (
        '<button type="submit" class="button button--danger">Remove<span class="visually-hidden">'
        " <bdi>Cameras are unfair</bdi></span></button>"
    ) in html
    assert '<input type="hidden" name="kind" value="test-figures">' in html
    assert (
        f'<a href="{page_url(depot, kind="test-figures", page=1).replace("&", "&amp;")}">Keep it</a>'
        in html
    )
    assert Citation.objects.listed().count() == 2  # asking changed nothing
    assert audit_events(depot) == []

    done = client.post(url, {"kind": "test-figures", "page": "1"})
    assert done.status_code == 302
    assert done["Location"] == page_url(depot, kind="test-figures", page=1)
    citation.refresh_from_db()
    assert citation.removed_at is not None
    assert citation.removed_by == rosa
    assert list(Citation.objects.listed()) == [kept]
    assert audit_events(depot) == [
        (AuditEvent.Action.CITATION_REMOVED, "Rosa removed evidence: “Cameras are unfair”")
    ]
    assert AuditEvent.objects.get().detail == {
        "citation": citation.pk,
        "evidence_type": SHARED,
    }
    html = client.get(done["Location"]).content.decode()
    assert "Evidence removed: “Cameras are unfair”" in html
    assert listed(html) == ["Kept figure"]


def test_removing_twice_changes_nothing_the_second_time(
    depot: Community, rosa: Any, evidence_modules: None
) -> None:
    citation = cite(depot, rosa, "Cameras are unfair")
    client = client_for(rosa)
    client.post(remove_url(citation))
    citation.refresh_from_db()
    removed_at = citation.removed_at
    for again in (client.post(remove_url(citation)), client.get(remove_url(citation))):
        assert again.status_code == 302
        assert again["Location"] == page_url(depot)
    citation.refresh_from_db()
    assert citation.removed_at == removed_at
    assert len(audit_events(depot)) == 1
    html = client.get(page_url(depot)).content.decode()
    assert "This evidence was removed already." in html


@pytest.mark.parametrize("who", ["anonymous", "member", "advisor", "outsider"])
def test_only_organisers_remove(
    depot: Community, rosa: Any, evidence_modules: None, who: str
) -> None:
    citation = cite(depot, rosa, "Cameras are unfair")
    user = {
        "anonymous": None,
        "member": MembershipFactory.create(community=depot, role=Role.MEMBER).user,
        "advisor": AdvisorGrantFactory.create(community=depot).advisor,
        "outsider": MembershipFactory.create(role=Role.ORGANISER).user,
    }[who]
    url = remove_url(citation)
    expected = {"anonymous": 302, "member": 403, "advisor": 403, "outsider": 404}[who]
    for response in (client_for(user).get(url), client_for(user).post(url)):
        assert response.status_code == expected
        if who == "anonymous":
            assert response["Location"].startswith(reverse("account_login"))
    citation.refresh_from_db()
    assert citation.removed_at is None
    assert audit_events(depot) == []


def test_a_citation_of_another_community_is_not_found(
    depot: Community, rosa: Any, evidence_modules: None
) -> None:
    elsewhere = CommunityFactory.create()
    theirs = cite(elsewhere, rosa, "Their figure")
    url = reverse("core:evidence-remove", kwargs={"slug": depot.slug, "pk": theirs.pk})
    client = client_for(rosa)
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.removed_at is None
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CITATION_REMOVED).count() == 0


def test_the_service_refuses_anyone_but_an_organiser(
    depot: Community, rosa: Any, evidence_modules: None
) -> None:
    citation = cite(depot, rosa, "Cameras are unfair")
    member = MembershipFactory.create(community=depot, role=Role.MEMBER).user
    outsider = MembershipFactory.create(role=Role.OWNER).user
    for actor in (member, outsider, None):
        with pytest.raises(services.ServiceError, match="Only organisers can remove evidence"):
            services.remove_citation(citation=citation, actor=actor)
    citation.refresh_from_db()
    assert (citation.removed_at, citation.removed_by) == (None, None)
    assert audit_events(depot) == []


def test_a_long_title_fits_the_audit_log(
    depot: Community, rosa: Any, evidence_modules: None
) -> None:
    citation = cite(depot, rosa, "word " * 200)
    services.remove_citation(citation=citation, actor=rosa)
    summary = AuditEvent.objects.get().summary
    assert len(summary) == 300
    assert summary.startswith("Rosa removed evidence: “word word")
    assert summary.endswith("…")


def test_the_same_figures_cited_again_after_removal_are_listed_again(
    depot: Community, rosa: Any, evidence_modules: None
) -> None:
    source = MembershipFactory.create(community=depot)
    first = services.cite(
        community=depot, source=source, evidence_type=SHARED, snapshot={"n": 1}, actor=rosa
    )
    services.remove_citation(citation=first, actor=rosa)
    assert (
        services.find_citation(
            community=depot, source=source, evidence_type=SHARED, snapshot={"n": 1}
        )
        is None
    )
    again = services.cite(
        community=depot, source=source, evidence_type=SHARED, snapshot={"n": 1}, actor=rosa
    )
    assert list(Citation.objects.listed()) == [again]
    assert Citation.objects.count() == 2  # the removed one is kept
