from django.urls import path

from . import views

app_name = "deliberation_public"

urlpatterns = [
    path("<slug:public_token>/", views.participate, name="participate"),
    path("<slug:public_token>/statements/new/", views.participant_statement, name="statement"),
    path("<slug:public_token>/report/", views.public_report, name="report"),
    path("<slug:public_token>/you/", views.you, name="you"),
    path("<slug:public_token>/forget/", views.forget, name="forget"),
]
