from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Question, Survey


class SurveyForm(forms.ModelForm[Survey]):
    languages_text = forms.CharField(
        label=_("Languages"),
        initial="en",
        help_text=_("Language codes separated by spaces, the main one first, like 'en pl'."),
    )

    class Meta:
        model = Survey
        fields = [
            "title",
            "welcome",
            "privacy_notice",
            "distribution",
            "one_response_per_member",
            "is_convenience_sample",
        ]
        widgets = {
            "welcome": forms.Textarea(attrs={"rows": 3}),
            "privacy_notice": forms.Textarea(attrs={"rows": 3}),
            "distribution": forms.RadioSelect,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.languages:
            self.fields["languages_text"].initial = " ".join(self.instance.languages)

    def clean_languages_text(self) -> list[str]:
        codes = [
            c.strip().lower() for c in self.cleaned_data["languages_text"].split() if c.strip()
        ]
        if not codes or any(not c.replace("-", "").isalpha() or len(c) > 10 for c in codes):
            raise forms.ValidationError(
                _("Give language codes like 'en' or 'pl', separated by spaces.")
            )
        return list(dict.fromkeys(codes))

    def save(self, commit: bool = True) -> Survey:
        self.instance.languages = self.cleaned_data["languages_text"]
        return super().save(commit=False)


class SectionForm(forms.Form):
    title = forms.CharField(label=_("Section title"), max_length=200, required=False)


class QuestionForm(forms.Form):
    label = forms.CharField(
        label=_("Question"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    name = forms.CharField(
        label=_("Short name"),
        max_length=60,
        help_text=_(
            "Used in logic like ${shift} and in exports. Letters, numbers and _, like 'shift'."
        ),
    )
    type = forms.ChoiceField(label=_("Type of answer"), choices=Question.Type.choices)
    hint = forms.CharField(label=_("Hint"), max_length=300, required=False)
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "For choice, rating and ranking questions: one per line, as 'name = label', like 'day = Day shift'."
        ),
    )
    required = forms.BooleanField(label=_("An answer is required"), required=False)
    relevant = forms.CharField(
        label=_("Show only if"),
        required=False,
        max_length=500,
        help_text=_(
            "Optional. For example: ${shift} = 'night' or selected(${worries}, 'scanner')."
        ),
    )
    constraint = forms.CharField(
        label=_("Answer must satisfy"),
        required=False,
        max_length=500,
        help_text=_("Optional. '.' is this answer. For example: . >= 16 and . <= 80."),
    )
    constraint_message = forms.CharField(
        label=_("Message when it does not"), required=False, max_length=300
    )
    is_breakdown = forms.BooleanField(label=_("Use to break down results"), required=False)


class CodesForm(forms.Form):
    size = forms.IntegerField(
        label=_("How many codes?"),
        min_value=1,
        max_value=2000,
        initial=50,
        help_text=_("One per person you want to invite. Each code works once."),
    )


class CodeEntryForm(forms.Form):
    code = forms.CharField(
        label=_("Your invitation code"),
        max_length=20,
        help_text=_("Like ABCDE-FGH23. Capitals or not, it does not matter."),
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("XLSForm file (.xlsx)"),
        help_text=_("A form made in KoboToolbox, ODK or a spreadsheet."),
    )
