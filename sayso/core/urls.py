from django.urls import path

from . import views

app_name = "core"

urlpatterns = [
    path("new/", views.community_create, name="community-create"),
    path("<slug:slug>/", views.community, name="community"),
    path("<slug:slug>/settings/", views.community_settings, name="settings"),
    path("<slug:slug>/people/", views.members, name="members"),
    path("<slug:slug>/people/invite/", views.invite, name="invite"),
    path(
        "<slug:slug>/people/invitations/<int:pk>/cancel/",
        views.invitation_cancel,
        name="invitation-cancel",
    ),
    path("<slug:slug>/people/<int:pk>/role/", views.member_role, name="member-role"),
    path("<slug:slug>/people/<int:pk>/remove/", views.member_remove, name="member-remove"),
    path("<slug:slug>/people/advisors/", views.advisors, name="advisors"),
    path(
        "<slug:slug>/people/advisors/<int:pk>/revoke/", views.advisor_revoke, name="advisor-revoke"
    ),
    path("<slug:slug>/people/transfer/", views.transfer, name="transfer"),
    path("<slug:slug>/leave/", views.leave, name="leave"),
    path("<slug:slug>/audit/", views.audit, name="audit"),
    path("<slug:slug>/codes/", views.codes, name="codes"),
    path("<slug:slug>/codes/new/", views.code_batch_new, name="code-batch-new"),
    path("<slug:slug>/codes/sheet/", views.code_sheet, name="code-sheet"),
    path("<slug:slug>/evidence/", views.evidence, name="evidence"),
    path("<slug:slug>/evidence/<int:pk>/remove/", views.evidence_remove, name="evidence-remove"),
]
