"""The printable sheet of invitation codes: a batch of up to 2,000 codes is shown in
pages of a bounded number of QR codes, each page its own quick request, without
JavaScript, and without the codes being stored anywhere."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from sayso.core.models import Community, InvitationCode, InvitationCodeBatch
from sayso.core.selectors import SHEET_PAGE, sheet_token
from sayso.core.services import MAX_CODES_PER_BATCH
from sayso.core.tests.factories import CommunityFactory, OrganiserFactory, signed_in

pytestmark = pytest.mark.django_db

CODE = re.compile(r"<code>([A-Z0-9-]+)</code>")


@pytest.fixture
def community() -> Community:
    return CommunityFactory.create(name="Depot Workers", slug="depot")


def organiser(community: Community) -> tuple[Client, Any]:
    user = OrganiserFactory.create(community=community).user
    client = signed_in(user)
    return client, user


def page_form(html: str) -> tuple[str, list[str]]:
    """The sheet token and the page numbers the page's buttons ask for."""
    token = re.search(r'name="sheet" value="([^"]+)"', html)
    assert token is not None
    return token.group(1), re.findall(r'name="page" value="(\d+)"', html)


def test_the_largest_batch_is_shown_a_bounded_page_at_a_time(community: Community) -> None:
    client, _user = organiser(community)
    first = client.post(
        reverse("core:code-batch-new", kwargs={"slug": community.slug}),
        {"label": "Night shift", "size": str(MAX_CODES_PER_BATCH)},
        follow=True,
    )
    assert first.status_code == 200
    assert first["Cache-Control"] == "private, no-store"
    html = first.content.decode()
    pages = -(-MAX_CODES_PER_BATCH // SHEET_PAGE)
    # Only this page's QR codes are drawn: the whole batch took 5 to 11 seconds.
    assert html.count("<svg") == SHEET_PAGE
    assert f"Codes 1 to {SHEET_PAGE} of 2,000 (page 1 of {pages})." in html
    assert f"Next page (2 of {pages})" in html
    assert "Previous page" not in html
    seen = CODE.findall(html)
    token, asked = page_form(html)
    assert asked == ["2"]
    url = reverse("core:code-sheet", kwargs={"slug": community.slug})
    for number in range(2, pages + 1):
        page = client.post(url, {"sheet": token, "page": str(number)})
        assert page.status_code == 200
        assert page["Cache-Control"] == "private, no-store"
        html = page.content.decode()
        codes = CODE.findall(html)
        assert html.count("<svg") == len(codes) <= SHEET_PAGE
        assert f"(page {number} of {pages})" in html
        seen += codes
        token, asked = page_form(html)
        assert asked == ([str(number - 1), str(number + 1)] if number < pages else [str(pages - 1)])
    # Every code of the batch, each once, and nothing but the batch's codes.
    assert len(seen) == len(set(seen)) == MAX_CODES_PER_BATCH
    batch = InvitationCodeBatch.objects.get()
    stored = set(batch.codes.values_list("digest", flat=True))
    assert {InvitationCode.digest_of(code) for code in seen} == stored
    # An earlier page can be printed again (a paper jam).
    again = client.post(url, {"sheet": token, "page": "1"}).content.decode()
    assert CODE.findall(again) == seen[:SHEET_PAGE]


def test_a_small_batch_is_one_page_without_buttons(community: Community) -> None:
    client, _user = organiser(community)
    html = client.post(
        reverse("core:code-batch-new", kwargs={"slug": community.slug}),
        {"label": "Night shift", "size": "3"},
        follow=True,
    ).content.decode()
    assert html.count("<svg") == len(CODE.findall(html)) == 3
    assert 'name="page"' not in html
    assert "page 1 of" not in html


def test_reloading_a_new_sheet_shows_the_same_codes_and_makes_no_new_batch(
    community: Community,
) -> None:
    """The form redirects to the sheet: a reload asks for the sheet again, not for
    another batch. The sheet is this organiser's, in this browser, and only theirs."""
    client, _user = organiser(community)
    made = client.post(
        reverse("core:code-batch-new", kwargs={"slug": community.slug}),
        {"label": "Night shift", "size": "3"},
    )
    assert made.status_code == 302
    sheet_url = made["Location"]
    first = client.get(sheet_url)
    again = client.get(sheet_url)
    assert first["Cache-Control"] == again["Cache-Control"] == "private, no-store"
    codes = CODE.findall(first.content.decode())
    assert len(codes) == 3
    assert CODE.findall(again.content.decode()) == codes
    assert InvitationCodeBatch.objects.count() == 1
    # Another organiser of the community, in another browser, is not shown them.
    other, _other = organiser(community)
    refused = other.get(sheet_url, follow=True).content.decode()
    assert not CODE.findall(refused)
    assert "These codes can no longer be shown" in refused
    # Without a batch, the sheet's address shows the form to make codes.
    bare = client.get(reverse("core:code-sheet", kwargs={"slug": community.slug}))
    assert bare.status_code == 200
    assert 'name="size"' in bare.content.decode()
    assert not CODE.findall(bare.content.decode())


@pytest.mark.parametrize("case", ["altered", "other organiser", "other community", "missing"])
def test_a_sheet_that_is_not_this_organisers_shows_no_codes(
    community: Community, case: str
) -> None:
    client, user = organiser(community)
    client.post(
        reverse("core:code-batch-new", kwargs={"slug": community.slug}),
        {"label": "Night shift", "size": "200"},
    )
    batch = InvitationCodeBatch.objects.get()
    token = sheet_token(batch_id=batch.pk, user_id=user.pk, codes=["AAAAA-BBBBB"])
    slug = community.slug
    if case == "altered":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif case == "other organiser":
        client, _other = organiser(community)
    elif case == "other community":
        elsewhere = CommunityFactory.create(slug="elsewhere")
        OrganiserFactory.create(community=elsewhere, user=user)
        slug = elsewhere.slug
    elif case == "missing":
        token = ""
    response = client.post(
        reverse("core:code-sheet", kwargs={"slug": slug}), {"sheet": token, "page": "1"}
    )
    if case == "other community":
        assert response.status_code == 404  # the batch is not that community's
    else:
        assert response.status_code == 302
        assert response["Location"] == reverse("core:codes", kwargs={"slug": slug})
        shown = [str(m) for m in get_messages(response.wsgi_request)]
        assert any("can no longer be shown" in m for m in shown), shown
    assert b"AAAAA-BBBBB" not in response.content
