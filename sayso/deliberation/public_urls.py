from django.urls import path

from . import views

app_name = "deliberation_public"

urlpatterns = [
    path("<str:public_token>/", views.participate, name="participate"),
    path("<str:public_token>/statements/new/", views.participant_statement, name="statement"),
    path("<str:public_token>/report/", views.public_report, name="report"),
    path("<str:public_token>/you/", views.you, name="you"),
    path("<str:public_token>/forget/", views.forget, name="forget"),
]
