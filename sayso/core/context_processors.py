from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from .registry import registry


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The community navigation, built from the module registry."""
    community = getattr(request, "community", None)
    access = getattr(request, "access", None)
    if community is None or access is None or not access.can_view:
        return {}
    path = request.path
    home = reverse("core:community", kwargs={"slug": community.slug})
    items = [{"label": community.name, "url": home, "current": path == home}]
    for module in registry:
        if not access.at_least("viewer" if module.min_role == "member" else module.min_role):
            continue
        try:
            url = reverse(module.nav_url_name, kwargs={"slug": community.slug})
        except NoReverseMatch:
            continue
        items.append({"label": module.label, "url": url, "current": path.startswith(url)})
    # Core's own page gathering every module's citations (views.evidence): everyone
    # inside sees it, each what the sources show them.
    url = reverse("core:evidence", kwargs={"slug": community.slug})
    items.append({"label": _("Evidence"), "url": url, "current": path.startswith(url)})
    if access.can_organise:
        url = reverse("core:members", kwargs={"slug": community.slug})
        items.append({"label": _("People"), "url": url, "current": path.startswith(url)})
    return {"community_nav": {"community": community, "items": items}}
