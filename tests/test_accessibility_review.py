# mypy: disable-error-code="no-untyped-call,arg-type,misc"
"""An accessibility reviewer's findings outside the conversations (WCAG 2.2 AA, a 320 px
phone, keyboard, no JavaScript, axe), each pinned by a test that failed before its fix:
page titles that say "Error:" and name their community or survey, forms that post to
their page without its #fragment, the error summary's wording, error messages that are
announced, the sign-up name box, htmx only where it is used, and a ranking's empty
choice in words. What only a browser shows is in tests/e2e/test_accessibility_review.py.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.messages.storage.fallback import FallbackStorage
from django.template import Context, RequestContext, Template
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from sayso.core.tests.factories import CommunityFactory, OwnerFactory, signed_in
from sayso.surveys import services
from sayso.surveys.models import Survey
from sayso.surveys.tests.test_respondent_flow import build_survey, page_url, start

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "Northgate-depot-2026!"
HTMX = re.compile(r'<script src="[^"]*htmx[^"]*"')


def code_survey() -> tuple[Survey, list[str]]:
    """build_survey's survey, answered with invitation codes."""
    survey = build_survey(status=Survey.Status.DRAFT, distribution=Survey.Distribution.CODES)
    organiser = OwnerFactory(community=survey.community).user
    _batch, codes = services.create_codes(survey=survey, actor=organiser, size=3)
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.OPEN)
    survey.refresh_from_db()
    return survey, codes


def code_page(survey: Survey) -> str:
    return reverse("surveys_public:code", kwargs={"link": survey.link_token})


def token_of(first: str) -> str:
    return first.split("/")[-4]


def title(html: str) -> str:
    """The page's title as read out (allauth's come with spaces around them)."""
    found = re.search(r"<title>(.*?)</title>", html, re.DOTALL)
    assert found is not None
    return " ".join(found.group(1).split())


def person(email: str) -> Any:
    user = User.objects.create_user(email, PASSWORD)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


class Forms(HTMLParser):
    """Each <form> of a page: its method and its action (None when it has none)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str | None]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            values = dict(attrs)
            self.found.append(((values.get("method") or "get").lower(), values.get("action")))


def post_actions(html: str) -> list[str | None]:
    return [action for method, action in Forms(html).found if method == "post"]


def owner_and_community() -> tuple[Client, Any]:
    community = CommunityFactory(name="Northgate Depot Workers", slug="northgate-depot")
    owner = OwnerFactory(community=community).user
    return signed_in(owner), community


# --------------------------------------------------------------- 2. the sign-up name box


def test_the_sign_up_name_box_offers_the_persons_name() -> None:
    """WCAG 1.3.5: the browser may fill in the person's own name."""
    html = Client().get(reverse("account_signup")).content.decode()
    (box,) = re.findall(r'<input[^>]*name="name"[^>]*>', html)
    assert 'autocomplete="name"' in box


# ------------------------------------------------- 4. forms post without the #fragment


def test_the_form_component_posts_to_the_page_it_is_on() -> None:
    """Without an action of its own the form names the page's path and query: a form with
    no action posts to the address in the bar, #fragment and all."""

    class Example(forms.Form):
        name = forms.CharField()

    request = RequestFactory().get("/c/northgate-depot/codes/new/?from=codes")
    html = render_to_string("components/form.html", {"form": Example()}, request=request)
    assert post_actions(html) == ["/c/northgate-depot/codes/new/?from=codes"]
    # An action given is kept.
    html = render_to_string(
        "components/form.html", {"form": Example(), "action": "/elsewhere/"}, request=request
    )
    assert post_actions(html) == ["/elsewhere/"]


def test_every_form_of_the_organisers_pages_names_its_address() -> None:
    client, community = owner_and_community()
    survey = build_survey()
    survey.community = community
    survey.languages = ["en", "pl"]
    survey.save(update_fields=["community", "languages"])
    base = f"/c/{community.slug}"
    question = survey.questions.get(name="shift")
    pages = {
        f"{base}/codes/new/": [f"{base}/codes/new/"],
        f"{base}/surveys/import/": [f"{base}/surveys/import/"],
        f"{base}/surveys/{survey.pk}/questions/{question.pk}/edit/": [
            f"{base}/surveys/{survey.pk}/questions/{question.pk}/edit/"
        ],
        f"{base}/surveys/{survey.pk}/translations/pl/": [
            f"{base}/surveys/{survey.pk}/translations/pl/"
        ],
        f"{base}/surveys/{survey.pk}/weighting/?question=shift": [
            f"{base}/surveys/{survey.pk}/weighting/?question=shift"
        ]
        * 2,
    }
    for path, actions in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert post_actions(response.content.decode())[-len(actions) :] == actions, path


def test_every_form_of_the_respondents_pages_names_its_address() -> None:
    survey, codes = code_survey()
    client = Client()
    code = code_page(survey)
    assert post_actions(client.get(code).content.decode()) == [code]
    # An address with a query keeps it: the language chosen goes with the answers.
    first = client.post(code, {"code": codes[0]})["Location"]
    assert post_actions(client.get(first).content.decode()) == [first]
    assert post_actions(client.get(first + "?lang=en").content.decode()) == [first + "?lang=en"]
    client.post(first, {"q_shift": "day"})
    client.post(page_url(first, 1), {})
    client.post(page_url(first, 2), {"q_agree": "yes"})
    check = reverse("surveys_public:check", kwargs={"token": token_of(first)})
    assert post_actions(client.get(check).content.decode()) == [check]
    forget = reverse("surveys_public:forget", kwargs={"token": token_of(first)})
    assert post_actions(client.get(forget).content.decode()) == [forget]
    link_survey = build_survey()
    start_page = reverse("surveys_public:start", kwargs={"link": link_survey.link_token})
    assert post_actions(Client().get(start_page).content.decode()) == [start_page]


# ---------------------------------------------------------------- 7. "Error:" in titles


def test_an_organisers_form_sent_back_says_error_in_the_title() -> None:
    client, community = owner_and_community()
    path = f"/c/{community.slug}/codes/new/"
    assert title(client.get(path).content.decode()) == "Make a set of codes · Sayso"
    html = client.post(path, {"label": "", "size": "20"}).content.decode()
    assert title(html) == "Error: Make a set of codes · Sayso"


def test_sign_in_and_sign_up_sent_back_say_error_in_the_title() -> None:
    person("dana@example.org")
    client = Client()
    html = client.post(reverse("account_login"), {"login": "dana@example.org", "password": "x"})
    assert title(html.content.decode()) == "Error: Sign In · Sayso"
    html = client.post(reverse("account_signup"), {"email": "not an address"})
    assert title(html.content.decode()) == "Error: Sign Up · Sayso"


def test_a_form_with_errors_under_any_name_says_error_in_the_title() -> None:
    """A conversation's code gate names its form `code_form`; allauth's code page,
    `verify_form`."""

    class Code(forms.Form):
        code = forms.CharField()

    request = RequestFactory().get("/")
    template = Template('{% extends "base.html" %}{% block title %}Join{% endblock %}')
    for name in ("code_form", "verify_form"):
        html = template.render(Context({name: Code(data={"code": ""}), "request": request}))
        assert title(html) == "Error: Join · Sayso", name
        html = template.render(Context({name: Code(data={"code": "A"}), "request": request}))
        assert title(html) == "Join · Sayso", name
        html = template.render(Context({name: Code(), "request": request}))
        assert title(html) == "Join · Sayso", name


def test_respondent_pages_say_error_once_in_their_own_words() -> None:
    survey, _codes = code_survey()
    Survey.objects.filter(pk=survey.pk).update(languages=["en", "cy"])
    client = Client()
    html = client.post(code_page(survey), {"code": ""}).content.decode()
    assert title(html) == "Error: Your invitation code \u2013 Work survey · Sayso"
    with translation.override("cy"):
        html = client.post(code_page(survey) + "?lang=cy", {"code": ""}).content.decode()
    assert title(html).count("Gwall:") == 1
    assert "Error:" not in title(html)


# ------------------------------------------------------------- 8. the error summary


def test_the_error_summary_adds_no_colon_after_a_question_mark() -> None:
    client, community = owner_and_community()
    html = client.post(f"/c/{community.slug}/codes/new/", {"label": "", "size": ""})
    summary = html.content.decode().split('id="error-summary"')[1].split("</div>")[0]
    links = re.findall(r"<a [^>]*>(.*?)</a>", summary)
    assert links == [
        "What are the codes for? Write what the codes are for, like "
        "&#x27;Night shift survey, November&#x27;.",
        "How many codes? Enter how many codes to make, from 1 to 2,000.",
    ]


def test_the_error_summary_keeps_the_colon_after_a_plain_label() -> None:
    class Example(forms.Form):
        name = forms.CharField(label="Your name")

    html = render_to_string("components/error_summary.html", {"form": Example(data={})})
    assert ">Your name: This field is required.</a>" in html


# -------------------------------------------------------- 9. error messages are heard


def page_with_messages(*added: tuple[int, str]) -> str:
    request = RequestFactory().get("/")
    request.session = {}  # type: ignore[assignment]
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    for level, text in added:
        messages.add_message(request, level, text)
    template = Template('{% extends "base.html" %}{% block title %}Survey{% endblock %}')
    return template.render(RequestContext(request, {}))


def test_an_error_message_is_an_alert_that_takes_focus() -> None:
    html = page_with_messages(
        (messages.SUCCESS, "Saved."),
        (messages.ERROR, "Create invitation codes before opening a survey that needs them."),
    )
    assert title(html) == "Error: Survey · Sayso"
    alert = re.search(r'<div role="alert"[^>]*>(.*?)</div>', html, re.DOTALL)
    assert alert is not None
    assert 'tabindex="-1"' in alert.group(0)
    assert "autofocus" in alert.group(0)
    assert "Create invitation codes" in alert.group(1)
    assert "Saved." not in alert.group(1)
    status = re.search(r'<div role="status" id="messages-status">(.*?)</div>', html, re.DOTALL)
    assert status is not None
    assert "Saved." in status.group(1)
    assert "Create invitation codes" not in status.group(1)


def test_other_messages_stay_a_polite_status() -> None:
    html = page_with_messages((messages.SUCCESS, "Saved."), (messages.WARNING, "Note this."))
    assert title(html) == "Survey · Sayso"
    assert 'role="alert"' not in html
    assert "autofocus" not in html
    status = re.search(r'<div role="status" id="messages-status">(.*?)</div>', html, re.DOTALL)
    assert status is not None
    assert "Saved." in status.group(1)
    assert "Note this." in status.group(1)


def test_an_error_after_a_redirect_is_announced_on_the_next_page() -> None:
    survey = build_survey(status=Survey.Status.DRAFT, distribution=Survey.Distribution.CODES)
    owner = OwnerFactory(community=survey.community).user
    client = signed_in(owner)
    detail = reverse("surveys:detail", kwargs={"slug": survey.community.slug, "pk": survey.pk})
    status = reverse("surveys:status", kwargs={"slug": survey.community.slug, "pk": survey.pk})
    response = client.post(status, {"status": "open"}, follow=True)
    assert response.redirect_chain == [(detail, 302)]
    html = response.content.decode()
    assert title(html) == "Error: Work survey · Sayso"
    assert re.search(
        r'<div role="alert" [^>]*autofocus>\s*<ul class="messages">\s*<li class="notification '
        r'notification--error"><p>Create invitation codes before opening a survey that needs '
        r"them.</p></li>",
        html,
    )
    survey.refresh_from_db()
    assert survey.status == Survey.Status.DRAFT


# ------------------------------------------------------------------- 13. page titles


def test_titles_name_the_community_or_the_survey() -> None:
    client, community = owner_and_community()
    survey = build_survey()
    Survey.objects.filter(pk=survey.pk).update(community=community)
    base = f"/c/{community.slug}"
    titles = {
        f"{base}/settings/": "Community settings: Northgate Depot Workers · Sayso",
        f"{base}/people/": "People: Northgate Depot Workers · Sayso",
        f"{base}/codes/": "Invitation codes: Northgate Depot Workers · Sayso",
        f"{base}/surveys/{survey.pk}/codes/": "Invitation codes: Work survey · Sayso",
    }
    for path, expected in titles.items():
        assert title(client.get(path).content.decode()) == expected, path


def test_settings_sent_back_keep_the_communitys_saved_name() -> None:
    """The form's instance takes what was typed; the title and the navigation do not."""
    client, community = owner_and_community()
    html = client.post(
        f"/c/{community.slug}/settings/",
        {"name": "Typed but refused", "kind": "workplace", "small_group_threshold": "1"},
    ).content.decode()
    assert title(html) == "Error: Community settings: Northgate Depot Workers · Sayso"
    assert "Typed but refused" not in html.split("<main")[0]
    community.refresh_from_db()
    assert community.name == "Northgate Depot Workers"


def heading_of(html: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.DOTALL)
    assert found is not None
    return " ".join(found.group(1).split())


def test_sign_in_pages_are_titled_as_their_headings() -> None:
    person("dana@example.org")
    client = Client()
    for path in (reverse("account_signup"), reverse("account_request_login_code")):
        html = client.get(path).content.decode()
        assert title(html) == f"{heading_of(html)} · Sayso", path
    assert title(client.get(reverse("account_signup")).content.decode()) == "Sign Up · Sayso"
    client.post(reverse("account_request_login_code"), {"email": "dana@example.org"})
    html = client.get(reverse("account_confirm_login_code")).content.decode()
    # allauth's own title block gives its heading's words here.
    assert title(html) == "Enter Sign-In Code · Sayso"
    assert heading_of(html) == "Enter Sign-In Code"


def test_the_two_factor_page_is_titled_as_its_heading() -> None:
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    user = person("dana@example.org")
    TOTP.activate(user, generate_totp_secret())
    client = Client()
    response = client.post(
        reverse("account_login"), {"login": "dana@example.org", "password": PASSWORD}
    )
    assert response["Location"] == reverse("mfa_authenticate")
    html = client.get(reverse("mfa_authenticate")).content.decode()
    assert title(html) == "Two-Factor Authentication · Sayso"
    assert heading_of(html) == "Two-Factor Authentication"


# ------------------------------------------------------ 14. htmx only where it is used

ROOT = Path(__file__).resolve().parents[1]


def test_a_page_without_htmx_attributes_leaves_htmx_out() -> None:
    """Every page template that extends base.html and uses no hx- attribute empties
    the htmx block."""
    loading = []
    for path in sorted((ROOT / "sayso").glob("**/templates/**/*.html")):
        text = path.read_text(encoding="utf-8")
        if '{% extends "base.html" %}' not in text:
            continue
        if "hx-" not in text and "{% block htmx %}{% endblock %}" not in text:
            loading.append(str(path.relative_to(ROOT)))
    assert loading == []


def test_htmx_is_left_out_of_pages_that_do_not_use_it() -> None:
    client, community = owner_and_community()
    survey = build_survey()
    Survey.objects.filter(pk=survey.pk).update(community=community)
    anonymous = Client()
    for path in ("/accounts/login/", "/accounts/signup/", "/accounts/login/code/", "/privacy/"):
        assert not HTMX.search(anonymous.get(path).content.decode()), path
    base = f"/c/{community.slug}"
    for path in (
        "/",
        f"{base}/",
        f"{base}/people/",
        f"{base}/settings/",
        f"{base}/surveys/",
        f"{base}/surveys/{survey.pk}/",
        f"{base}/organisations/",
        "/account/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert not HTMX.search(response.content.decode()), path
    # A page of questions uses it.
    respondent = Client()
    first = start(survey, respondent)
    assert HTMX.search(respondent.get(first).content.decode())


# ---------------------------------------------------------- 15. a ranking's empty choice


def test_a_rankings_empty_choice_is_said_in_words() -> None:
    survey = build_survey()
    client = Client()
    first = start(survey, client)
    client.post(first, {"q_shift": "day"})
    html = client.get(page_url(first, 1)).content.decode()
    selects = re.findall(r"<select [^>]*>(.*?)</select>", html, re.DOTALL)
    assert len(selects) == 3
    assert all(s.startswith('<option value="">Not ranked</option>') for s in selects)
    assert "—" not in html.split("<main")[1]
    with translation.override("pl"):
        assert translation.gettext("Not ranked") == "Bez numeru"
    with translation.override("cy"):
        assert translation.gettext("Not ranked") == "Dim rhif"


def test_results_tables_say_on_a_phone_that_they_scroll() -> None:
    """The words are shown on a phone only (sayso.css); a screen reader reads the table
    cell by cell and is not told to scroll."""
    from sayso.surveys.tests.factories import answer, make_survey

    community = CommunityFactory(small_group_threshold=2)
    survey = make_survey(community, status=Survey.Status.OPEN)
    for shift in ("day", "day", "night", "night"):
        answer(survey, shift=shift, disciplined="no")
    client = signed_in(OwnerFactory(community=community).user)
    html = client.get(
        reverse("surveys:results", kwargs={"slug": community.slug, "pk": survey.pk})
    ).content.decode()
    hint = (
        '<p class="table-hint" aria-hidden="true">If the table is cut off, scroll it sideways'
        ' to see the rest.</p><div class="table-wrap"'
    )
    assert html.count(hint) == html.count('<div class="table-wrap"') > 0
