from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from . import services
from .models import DataPractice, Organisation, SpecialCategory, Stage


class OrganisationForm(forms.ModelForm[Organisation]):
    class Meta:
        model = Organisation
        fields = [
            "name",
            "kind",
            "website",
            "data_protection_contact",
            "foi_address",
            "notes",
            "is_published",
        ]
        labels = {"name": _("Organisation name")}
        help_texts = {
            "name": _("For example: 'Northgate Logistics Ltd'."),
            "website": _("Optional. Start with https://"),
            "notes": _("Private to your community unless you publish the organisation."),
        }
        widgets = {"kind": forms.RadioSelect, "notes": forms.Textarea(attrs={"rows": 3})}
        error_messages = {"kind": {"required": _("Choose what kind of organisation this is.")}}

    def __init__(self, *args: Any, community: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.community = community
        if self.instance._state.adding:
            # Nothing ticked for a new organisation: the model's default (employer) would
            # otherwise be saved for anyone who did not stop to choose.
            self.fields["kind"].initial = None
            self.initial.pop("kind", None)

    def clean_name(self) -> str:
        name = services.tidy_name(self.cleaned_data["name"])
        # The same rule as services.save_organisation, asked early so the message sits
        # beside the field with everything else the person typed kept.
        if services.name_taken(community=self.community, name=name, exclude_pk=self.instance.pk):
            raise forms.ValidationError(
                _("Your community already has an organisation called '%(name)s'.") % {"name": name}
            )
        return name


class DataPracticeForm(forms.ModelForm[DataPractice]):
    stages = forms.MultipleChoiceField(
        label=_("Where in the data cycle does this happen?"),
        choices=Stage.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick every stage that applies."),
        error_messages={"required": _("Tick at least one stage of the data cycle.")},
    )
    special_categories = forms.MultipleChoiceField(
        label=_("Does it involve special category data?"),
        choices=SpecialCategory.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_(
            "The law gives these kinds of data extra protection. Leave empty if none apply."
        ),
    )

    class Meta:
        model = DataPractice
        fields = [
            "title",
            "description",
            "stages",
            "data_categories",
            "special_categories",
            "subjects",
            "purposes",
            "shared_with",
            "retention",
            "legal_basis",
            "systems",
            "sources",
        ]
        help_texts = {
            "title": _("A short name, for example 'Handheld scanner productivity tracking'."),
            "description": _("In plain words: what the organisation does with the data."),
            "shared_with": _("Other organisations that receive the data, one per line."),
            "retention": _("For example: '2 years', or 'not stated'."),
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "data_categories": forms.Textarea(attrs={"rows": 3}),
            "purposes": forms.Textarea(attrs={"rows": 3}),
            "shared_with": forms.Textarea(attrs={"rows": 2}),
            "systems": forms.Textarea(attrs={"rows": 2}),
            "sources": forms.Textarea(attrs={"rows": 2}),
        }

    def clean_title(self) -> str:
        title = " ".join(self.cleaned_data["title"].split())
        if len(title) < 3:
            raise forms.ValidationError(_("Give a title of at least 3 characters."))
        return title

    def clean_stages(self) -> list[str]:
        chosen = set(self.cleaned_data["stages"])
        return [s for s in Stage.values if s in chosen]  # keep cycle order

    def clean_sources(self) -> str:
        lines = DataPractice.lines(self.cleaned_data["sources"])
        check = URLValidator(schemes=["http", "https"])
        for number, line in enumerate(lines, start=1):
            try:
                check(line)
            except forms.ValidationError:
                raise forms.ValidationError(
                    _(
                        "Line %(n)s is not a web link: '%(line)s'. Put one link per line, starting with https://"
                    )
                    % {"n": number, "line": line[:80]}
                ) from None
        return "\n".join(lines)
