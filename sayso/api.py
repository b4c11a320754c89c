"""The Sayso HTTP API (django-ninja, OpenAPI 3 at /api/docs).

Wiring only: each app contributes a router from its own `api.py`.
"""

from __future__ import annotations

from ninja import NinjaAPI

from sayso.accounts.api import TokenAuth
from sayso.core.api import router as core_router
from sayso.organisations.api import router as organisations_router

api = NinjaAPI(
    title="Sayso API",
    version="1.0.0",
    description=(
        "Read and write a community's organisations and data practices. "
        "Authenticate with a personal API token: `Authorization: Bearer sayso_…`."
    ),
    auth=TokenAuth(),
    urls_namespace="api-1.0.0",
)
api.add_router("/communities", core_router)
api.add_router("/communities", organisations_router)
