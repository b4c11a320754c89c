"""The module registry: how capability apps plug into the community shell.

Each app registers a `Module` from its AppConfig.ready(). Core builds navigation, the
dashboard, the list of citable evidence types and the demo from the registry, so core
never imports an app (import-linter rule 4).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django_stubs_ext import StrOrPromise

if TYPE_CHECKING:
    from .models import Community


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
    dashboard_card: Callable[[Community, Any], DashboardCard | None] | None = None
    evidence_types: tuple[str, ...] = ()
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


registry = Registry()
