from django.urls import path

from . import views

app_name = "organisations"

urlpatterns = [
    path("", views.organisation_list, name="list"),
    path("new/", views.organisation_create, name="create"),
    path("<int:pk>/", views.organisation_detail, name="detail"),
    path("<int:pk>/edit/", views.organisation_edit, name="edit"),
    path("<int:pk>/delete/", views.organisation_delete, name="delete"),
    path("<int:pk>/practices/new/", views.practice_create, name="practice-create"),
    path("<int:pk>/practices/<int:practice>/", views.practice_detail, name="practice"),
    path("<int:pk>/practices/<int:practice>/edit/", views.practice_edit, name="practice-edit"),
    path(
        "<int:pk>/practices/<int:practice>/delete/", views.practice_delete, name="practice-delete"
    ),
]
