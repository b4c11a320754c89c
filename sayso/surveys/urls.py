from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    path("", views.survey_list, name="list"),
    path("new/", views.survey_create, name="create"),
    path("import/", views.import_xlsform, name="import"),
    path("<int:pk>/", views.survey_detail, name="detail"),
    path("<int:pk>/edit/", views.survey_edit, name="edit"),
    path("<int:pk>/status/", views.survey_status, name="status"),
    path("<int:pk>/sections/new/", views.section_create, name="section-create"),
    path("<int:pk>/sections/<int:section>/edit/", views.section_edit, name="section-edit"),
    path("<int:pk>/sections/<int:section>/delete/", views.section_delete, name="section-delete"),
    path("<int:pk>/questions/<int:question>/move/", views.question_move, name="question-move"),
    path("<int:pk>/languages/add/", views.language_add, name="language-add"),
    path("<int:pk>/translations/<str:language>/", views.translations, name="translations"),
    path(
        "<int:pk>/sections/<int:section>/questions/new/",
        views.question_create,
        name="question-create",
    ),
    path("<int:pk>/questions/<int:question>/edit/", views.question_edit, name="question-edit"),
    path(
        "<int:pk>/questions/<int:question>/delete/", views.question_delete, name="question-delete"
    ),
    path("<int:pk>/questions/<int:question>/cite/", views.cite_result, name="cite"),
    path("<int:pk>/codes/", views.codes, name="codes"),
    path("<int:pk>/codes/sheet/", views.code_sheet, name="code-sheet"),
    path("<int:pk>/preview/", views.preview, name="preview"),
    path("<int:pk>/take/", views.take, name="take"),
    path("<int:pk>/results/", views.results, name="results"),
    path("<int:pk>/results/<int:question>/chart.svg", views.chart, name="chart"),
    # An answer is named by its question and its response's random export key: an
    # answer's own id counts up in the order people answered.
    path(
        "<int:pk>/questions/<int:question>/answers/<int:response_key>/approve/",
        views.answer_approve,
        name="answer-approve",
    ),
    path("<int:pk>/weighting/", views.weighting, name="weighting"),
    path("<int:pk>/xlsform/", views.export_xlsform, name="xlsform"),
    path("<int:pk>/export/<str:fmt>/", views.export, name="export"),
    path("<int:pk>/exports/", views.export_list, name="exports"),
    path("<int:pk>/exports/<int:job>/", views.export_job, name="export-job"),
    path("<int:pk>/exports/<int:job>/download/", views.export_download, name="export-download"),
]
