"""The module registry: how capability apps plug into the community shell.

Each app registers a `Module` from its AppConfig.ready(). Core builds navigation, the
dashboard, the list of citable evidence types and the demo from the registry, so core
never imports an app (import-linter rule 4).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django_stubs_ext import StrOrPromise

if TYPE_CHECKING:
    from django.db.models import Q

    from .models import Citation, Community
    from .permissions import Access


@dataclass(frozen=True)
class DashboardCard:
    title: str
    summary: str
    url: str
    figures: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Module:
    key: str
    label: StrOrPromise
    # URL name taking `slug`; the community navigation links to it.
    nav_url_name: str
    description: StrOrPromise = ""
    # Lowest role that sees the navigation entry and card: "member" or "organiser".
    min_role: str = "member"
    # (community, the reader's Access) -> the module's card on the dashboard.
    dashboard_card: Callable[[Community, Access], DashboardCard | None] | None = None
    evidence_types: tuple[str, ...] = ()
    # The community's Evidence page (core/evidence.html) asks the module about its own
    # citations: where each came from, as (words, URL of the living source) by citation
    # pk for a page of them at once (a citation whose source is gone is left out);
    evidence_links: Callable[[Sequence[Citation]], Mapping[int, tuple[str, str]]] | None = None
    # a template showing one citation's snapshot in words (given `citation`), else its
    # title is shown;
    evidence_template: str = ""
    # and which of them members and advisors may read now, as a filter on Citation:
    # those whose figures the source's own page shows them. Without it, only organisers
    # see the module's citations there.
    evidence_shown: Callable[[Community], Q] | None = None
    # Creates the module's demo records for a demo community; must be idempotent.
    demo_seed: Callable[[Community, str], None] | None = None
    # HTML for the community's public page: only what the community chose to publish.
    public_section: Callable[[Community], str] | None = None
    # What the module holds that is linked to a person, for their own data download
    # (accounts.services.personal_data): plain values, ready to write as JSON.
    personal_data: Callable[[Any], list[dict[str, Any]]] | None = None
    order: int = 100


class Registry:
    def __init__(self) -> None:
        self._modules: dict[str, Module] = {}

    def register(self, module: Module) -> None:
        if module.key in self._modules and self._modules[module.key] != module:
            raise ValueError(f"A module named {module.key!r} is already registered.")
        self._modules[module.key] = module

    def __iter__(self) -> Iterator[Module]:
        return iter(sorted(self._modules.values(), key=lambda m: (m.order, m.key)))

    def get(self, key: str) -> Module:
        return self._modules[key]

    def evidence_types(self) -> dict[str, str]:
        return {etype: module.key for module in self for etype in module.evidence_types}

    def evidence_modules(self) -> list[Module]:
        """The modules whose results can be cited, in navigation order."""
        return [module for module in self if module.evidence_types]


registry = Registry()
