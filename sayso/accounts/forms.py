from __future__ import annotations

from typing import Any

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ApiToken


class SignupForm(AllauthSignupForm):  # type: ignore[misc]
    name = forms.CharField(
        label=_("Your name (optional)"),
        max_length=150,
        required=False,
        help_text=_("Shown to people in your communities. You can leave it empty."),
        # The browser can offer the person's name (WCAG 1.3.5).
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Put the optional name after the email address, before the passwords.
        order = ["email", "name", "password1", "password2"]
        self.order_fields(order)


class ApiTokenForm(forms.ModelForm[ApiToken]):
    class Meta:
        model = ApiToken
        fields = ["name"]
        labels = {"name": _("What is this token for?")}
        help_texts = {"name": _("For example: 'Branch spreadsheet sync'.")}
