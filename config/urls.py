from django.contrib import admin
from django.urls import include, path

from sayso.api import api
from sayso.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("privacy/", core_views.about_privacy, name="about-privacy"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    # Participant pages reachable by a shared link or an invitation code, maybe
    # anonymously. Listed early: votes and survey answers arrive by the thousand, and
    # every pattern tried before theirs is paid on each one.
    path("conversations/", include("sayso.deliberation.public_urls")),
    path("surveys/", include("sayso.surveys.public_urls")),
    path("invitations/<str:token>/", core_views.accept_invitation, name="accept-invitation"),
    path("accounts/", include("allauth.urls")),
    path("account/", include("sayso.accounts.urls")),
    path("c/", include("sayso.core.urls")),
    path("c/<slug:slug>/organisations/", include("sayso.organisations.urls")),
    path("c/<slug:slug>/conversations/", include("sayso.deliberation.urls")),
    path("c/<slug:slug>/surveys/", include("sayso.surveys.urls")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
