from django.contrib import admin

from .models import AdvisorGrant, AuditEvent, Community, Invitation, Membership


class MembershipInline(admin.TabularInline[Membership, Community]):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin[Community]):
    list_display = ["name", "slug", "kind", "is_public"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(AdvisorGrant)
class AdvisorGrantAdmin(admin.ModelAdmin[AdvisorGrant]):
    list_display = ["community", "advisor", "granted_at", "revoked_at"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin[Invitation]):
    list_display = ["community", "email", "role", "expires_at", "accepted_at"]
    exclude = ["digest"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = ["created_at", "community", "action", "summary"]
    list_filter = ["action"]

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False  # the audit log is append-only
