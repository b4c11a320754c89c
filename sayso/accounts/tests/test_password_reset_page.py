"""allauth's page for a password reset link. One that no longer works said "Bad Token"
under the title "Change Password": the title and the heading now say the same thing in
plain words, and the page says why and offers a new link. One that works still shows
allauth's form, and the new password is set."""

from __future__ import annotations

import re

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.test import Client
from django.urls import reverse

from sayso.accounts.models import User
from sayso.accounts.tests.factories import PASSWORD, UserFactory, verified

pytestmark = pytest.mark.django_db

NEW = "a-new-and-longer-passphrase-2026"


def _text(html: str, tag: str) -> str:
    found = re.search(rf"<{tag}\b[^>]*>(.*?)</{tag}>", html, re.DOTALL)
    assert found is not None, tag
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())


def _link(user: User, key: str | None = None) -> str:
    return reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": key or default_token_generator.make_token(user),
        },
    )


def test_a_link_that_does_not_work_says_so_in_title_and_heading() -> None:
    user = verified(UserFactory.create())
    response = Client().get(_link(user, key="not-a-real-key"))
    assert response.status_code == 200
    html = response.content.decode()
    assert _text(html, "title") == "This reset link doesn't work · Sayso"
    assert _text(html, "h1") == "This reset link doesn't work"
    assert "Bad Token" not in html
    assert "may have been used already, or be too old" in html
    link = f'<a href="{reverse("account_reset_password")}">'
    assert f"{link}Ask for a new link to reset your password</a>" in html
    assert 'name="password1"' not in html
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_link_that_works_still_sets_the_new_password() -> None:
    user = verified(UserFactory.create())
    client = Client()
    key = default_token_generator.make_token(user)
    response = client.get(_link(user, key), follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert _text(html, "h1") == "Change Password"
    assert "Change Password" in _text(html, "title")
    assert 'name="password1"' in html
    assert "reset link doesn" not in html
    assert response.redirect_chain  # allauth hides the key from the address
    form_url = response.redirect_chain[-1][0]
    done = client.post(form_url, {"password1": NEW, "password2": NEW})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW)

    # The same link again has been used: the page says so and changes nothing.
    used = Client().get(_link(user, key))
    assert _text(used.content.decode(), "h1") == "This reset link doesn't work"
    user.refresh_from_db()
    assert user.check_password(NEW)
