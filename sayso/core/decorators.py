"""View decorators that resolve the community and enforce access.

Each decorated view carries `sayso_access` so the authorization-matrix test can
derive the expected answer for every URL without a hand-kept list.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from .models import Community
from .permissions import access_for, needs_mfa

View = Callable[..., HttpResponse]
LEVELS = ("viewer", "member", "organiser", "owner")


def community_view(level: str) -> Callable[[View], View]:
    """Resolve `slug` to a community the user may see at `level`.

    Anonymous people are sent to sign in (whether or not the community exists, so
    nothing leaks); people outside the community get 404; people inside it without
    enough power get 403.
    """
    if level not in LEVELS:
        raise ValueError(level)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            community = Community.objects.filter(slug=slug).first()
            if community is None:
                raise Http404
            access = access_for(request.user, community)
            if not access.can_view:
                raise Http404
            if not access.at_least(level):
                raise PermissionDenied
            request.community = community  # type: ignore[attr-defined]
            request.access = access  # type: ignore[attr-defined]
            if needs_mfa(request.user, community, access):
                messages.warning(
                    request,
                    _(
                        "%(community)s asks organisers to use two-factor sign-in. Set it up to continue."
                    )
                    % {"community": community.name},
                )
                return redirect("mfa_activate_totp")
            return view(request, community, *args, **kwargs)

        wrapper.sayso_access = level  # type: ignore[attr-defined]
        return wrapper

    return decorator


def access_level(level: str) -> Callable[[View], View]:
    """Label a view outside a community: "public" or "authenticated"."""

    def decorator(view: View) -> View:
        view.sayso_access = level  # type: ignore[attr-defined]
        return view

    return decorator


def post_only(view: View) -> View:
    """Allow only POST (GET answers 405); marked for the authorization matrix."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            from django.http import HttpResponseNotAllowed

            return HttpResponseNotAllowed(["POST"])
        return view(request, *args, **kwargs)

    wrapper.sayso_post_only = True  # type: ignore[attr-defined]
    return wrapper
