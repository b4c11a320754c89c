from django.urls import path

from . import views

app_name = "surveys_public"

urlpatterns = [
    path("r/<str:token>/p/<int:page>/", views.page, name="page"),
    path("r/<str:token>/check/", views.check, name="check"),
    path("r/<str:token>/saved/", views.saved, name="saved"),
    path("r/<str:token>/forget/", views.forget, name="forget"),
    # Before "<link>/": a survey's link is 32 random characters, never "privacy".
    path("privacy/", views.privacy, name="privacy"),
    path("<str:link>/", views.start, name="start"),
    path("<str:link>/code/", views.code_entry, name="code"),
    path("<str:link>/thanks/", views.thanks, name="thanks"),
]
