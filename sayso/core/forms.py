from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import RESERVED_SLUGS, Community, Invitation, Membership, Role
from .services import MAX_CODES_PER_BATCH


class CommunityForm(forms.ModelForm[Community]):
    class Meta:
        model = Community
        fields = ["name", "slug", "kind", "description", "is_public"]
        labels = {"name": _("Community name")}
        help_texts = {
            "name": _("For example: 'Northgate Depot Workers'."),
            "description": _("Who you are and what you want to change. Members see this."),
        }
        widgets = {"kind": forms.RadioSelect, "description": forms.Textarea(attrs={"rows": 4})}

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if len(name) < 3:
            raise forms.ValidationError(_("Give a name of at least 3 characters."))
        return name

    def clean_slug(self) -> str:
        slug = str(self.cleaned_data["slug"]).strip().lower()
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError(
                _("'%(slug)s' is reserved. Choose another.") % {"slug": slug}
            )
        return slug


class CommunitySettingsForm(CommunityForm):
    class Meta(CommunityForm.Meta):
        fields = [
            "name",
            "kind",
            "description",
            "is_public",
            "small_group_threshold",
            "require_mfa_for_organisers",
        ]


class InvitationForm(forms.ModelForm[Invitation]):
    class Meta:
        model = Invitation
        fields = ["email", "role"]
        labels = {"email": _("Their email address"), "role": _("Invite them as")}
        help_texts = {
            "email": _("We send them a link that works once and expires after 14 days."),
            "role": _("Organisers can plan campaigns and see results. You can change this later."),
        }
        widgets = {"role": forms.RadioSelect}


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[(Role.MEMBER, Role.MEMBER.label), (Role.ORGANISER, Role.ORGANISER.label)],
    )


class MembershipChoiceField(forms.ModelChoiceField[Membership]):
    def label_from_instance(self, obj: Membership) -> str:
        return f"{obj.user.display_name} ({obj.get_role_display()})"


class AdvisorChoiceField(forms.ModelChoiceField[Any]):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class TransferForm(forms.Form):
    new_owner = MembershipChoiceField(
        label=_("New owner"),
        queryset=Membership.objects.none(),
        empty_label=_("Choose a person"),
        help_text=_("You will become an organiser. Only the new owner can undo this."),
    )

    def __init__(self, *args: Any, community: Community, owner: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["new_owner"]
        assert isinstance(field, MembershipChoiceField)
        field.queryset = (
            Membership.objects.filter(community=community)
            .exclude(user=owner)
            .select_related("user")
        )


class AdvisorGrantForm(forms.Form):
    advisor = AdvisorChoiceField(
        label=_("Advisor"),
        queryset=Membership.objects.none(),
        empty_label=_("Choose an advisor"),
        help_text=_("The advisor can read your community's pages until you remove their access."),
    )

    def __init__(self, *args: Any, advisors: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["advisor"]
        assert isinstance(field, AdvisorChoiceField)
        field.queryset = advisors


class CodeBatchForm(forms.Form):
    label = forms.CharField(
        label=_("What are the codes for?"),
        max_length=120,
        help_text=_("For example: 'Night shift survey, November'."),
    )
    size = forms.IntegerField(
        label=_("How many codes"),
        min_value=1,
        max_value=MAX_CODES_PER_BATCH,
        initial=20,
        help_text=_("One for each person who should be able to take part."),
    )
