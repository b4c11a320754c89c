from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .fields import code_count_field
from .models import RESERVED_SLUGS, Community, Invitation, Membership, Role

WEB_ADDRESS_MESSAGE = _(
    "Use only letters, numbers and single hyphens in the web address, like 'northgate-depot'."
)


class CommunityForm(forms.ModelForm[Community]):
    class Meta:
        model = Community
        fields = ["name", "slug", "kind", "description", "is_public"]
        labels = {"name": _("Community name")}
        help_texts = {
            "name": _("For example: 'Northgate Depot Workers'."),
            "slug": _(
                "Used in links to your community, like /c/northgate-depot/. It cannot be"
                " changed later."
            ),
            "description": _("Who you are and what you want to change. Members see this."),
        }
        # One message for a web address of the wrong shape, whichever check finds it
        # (the form's, or the model's), instead of Django's about a "slug".
        error_messages = {"slug": {"invalid": WEB_ADDRESS_MESSAGE}}
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


# Said the same way whatever is wrong with the number (empty, below 2, not a number):
# what to type is the same each time.
_THRESHOLD_MESSAGE = _("The smallest group shown must be at least 2 people.")


class CommunitySettingsForm(CommunityForm):
    # The model's limits (2 to 100), also as the number box's min and max, instead of
    # the 0 a positive number field would allow.
    small_group_threshold = forms.IntegerField(
        label=capfirst(Community._meta.get_field("small_group_threshold").verbose_name),
        min_value=2,
        max_value=100,
        help_text=Community._meta.get_field("small_group_threshold").help_text,
        error_messages={
            "required": _THRESHOLD_MESSAGE,
            "invalid": _THRESHOLD_MESSAGE,
            "min_value": _THRESHOLD_MESSAGE,
            "max_value": _("The smallest group shown can be at most 100 people."),
        },
    )

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

    def __init__(self, *args: Any, roles: list[Role], **kwargs: Any) -> None:
        """`roles`: what this inviter may invite people as (permissions.invitable_roles);
        only those are offered, and any other is refused in words."""
        super().__init__(*args, **kwargs)
        role = self.fields["role"]
        role.choices = [(r.value, r.label) for r in roles]  # type: ignore[attr-defined]
        if Role.ORGANISER not in roles:
            role.help_text = _("You can invite members. Only the owner can invite organisers.")
            role.error_messages["invalid_choice"] = _(
                "You can invite people as members. Only the owner can invite organisers."
            )


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
        # Said in the field's own words: "This field is required." does not say what to
        # type.
        error_messages={
            "required": _("Write what the codes are for, like 'Night shift survey, November'.")
        },
    )
    # As on a survey's own codes page.
    size = code_count_field()
