"""A phone in the reviewer's hands (review 12, issue 3).

A double tap on "Agree", the taps 50 to 250 ms apart, cast two votes: the second on the
next statement, which nobody had read. Now the buttons are disabled while the vote is
sent and a card just swapped in ignores taps for a moment.

On a shared phone the next person carried on as the last one, and an address in the
history (`?change=`) showed the last person's "You voted 'Agree'". Now "Done? Forget me
on this device" forgets them, and that address shows the next person nothing of theirs.
(That the pages are never kept, `Cache-Control: private, no-store`, is checked in
sayso/deliberation/tests/test_review12_participants.py: Playwright's Chromium runs
without the back-forward cache, and Django's `Vary: Cookie` already has it fetch the
page again once the cookie is gone.)"""

from __future__ import annotations

import pytest

from sayso.core.models import Community
from sayso.deliberation import services
from sayso.deliberation.models import Conversation, Participant, Vote

from .conftest import BrowseFactory

pytestmark = pytest.mark.e2e

# Of one length, so that each new card's buttons land where the last card's were, under
# a second tap.
SEEDS = [f"Scanner data about shift {n} should be deleted after a week." for n in range(1, 9)]


def _conversation() -> Conversation:
    community = Community.objects.create(name="Northgate Depot", slug="northgate-depot")
    return services.create_conversation(
        conversation=Conversation(topic="What should the rules be for the scanner data?"),
        community=community,
        actor=None,
        seed_statements=SEEDS,
    )


@pytest.mark.parametrize("gap", [50, 120, 250])
def test_a_double_tap_casts_one_vote(browse: BrowseFactory, gap: int) -> None:
    conversation = _conversation()
    person = browse("double tapper")
    person.visit(conversation.get_public_url())
    page = person.page
    for round_ in range(2):  # the page as loaded, then a card swapped in by htmx
        first = page.locator("#statement-text").inner_text()
        box = page.get_by_role("button", name="Agree", exact=True).bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.click(x, y)
        page.wait_for_timeout(gap)
        page.mouse.click(x, y)
        page.wait_for_function(
            "t => document.querySelector('#statement-text')?.innerText !== t", arg=first
        )
        page.wait_for_timeout(800)  # time for a second vote to arrive, if one was sent
        assert Vote.objects.count() == round_ + 1, f"round {round_ + 1}, {gap} ms apart"
        assert page.locator("#statement-progress").inner_text() == f"Statement {round_ + 2} of 8"
    # A tap after the moment is a vote again, and the buttons work after a vote.
    page.get_by_role("button", name="Disagree", exact=True).click()
    page.wait_for_function(
        "() => document.querySelector('#statement-progress')?.innerText === 'Statement 4 of 8'"
    )
    assert Vote.objects.count() == 3
    assert page.locator("#card-status").inner_text() == "Vote recorded. 3 of 8 done."
    person.check()


def test_forget_me_on_a_shared_phone_without_javascript(browse: BrowseFactory) -> None:
    conversation = _conversation()
    link = conversation.get_public_url()
    person = browse("first on the phone", javascript=False)
    person.visit(link)
    page = person.page
    person.submit("Agree")
    person.follow("Change my last vote")
    assert "You voted “Agree” on this statement." in page.locator("main").inner_text()
    person.follow("Done? Forget me on this device")
    assert "Your votes stay counted, anonymously." in page.locator("main").inner_text()
    person.submit("Forget me on this device")
    assert page.get_by_role("heading", level=1).inner_text() == "This device has forgotten you"

    # The next person goes back through the history to the last person's vote.
    person.navigate(lambda: page.go_back())
    person.navigate(lambda: page.go_back())
    assert "?change=" in page.url
    main = page.locator("main").inner_text()
    assert "You voted" not in main
    assert "Statement 1 of 8" in main
    person.follow("Done? Forget me on this device")  # still on offer, with nothing to forget
    assert "This device does not remember you" in page.locator("main").inner_text()
    person.follow("Back to the conversation")
    person.submit("Disagree")
    # Their vote is theirs: two people, one vote each, the first one's kept.
    assert Participant.objects.count() == 2
    assert sorted(Vote.objects.values_list("value", flat=True)) == [-1, 1]
