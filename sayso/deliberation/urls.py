from django.urls import path

from . import views

app_name = "deliberation"

urlpatterns = [
    path("", views.conversation_list, name="list"),
    path("new/", views.conversation_create, name="create"),
    path("import/", views.import_polis, name="import"),
    path("<int:conversation>/", views.conversation_detail, name="detail"),
    path("<int:conversation>/edit/", views.conversation_edit, name="edit"),
    path("<int:conversation>/statements/new/", views.statement_add, name="statement-add"),
    path("<int:conversation>/state/", views.conversation_state, name="state"),
    path("<int:conversation>/moderate/", views.moderate, name="moderate"),
    path(
        "<int:conversation>/moderate/<int:statement>/edit/",
        views.statement_edit,
        name="statement-edit",
    ),
    path("<int:conversation>/report/", views.report, name="report"),
    path("<int:conversation>/cite/", views.cite, name="cite"),
    path("<int:conversation>/export/", views.export, name="export"),
]
