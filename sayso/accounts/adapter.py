from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.db import transaction
from django.http import HttpRequest

from sayso.core.tasks import send_email


@dataclass(frozen=True)
class SaysoSite:
    """What allauth's email templates call `current_site`: named Sayso, at this host."""

    name: str
    domain: str


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=False)
        user.name = form.cleaned_data.get("name", "")
        # An address stashed as confirmed (an invitation link was opened, core.views)
        # confirms only itself. allauth would add it to any new account, whatever address
        # was typed; when another was typed, forget it instead.
        stashed = request.session.get("account_verified_email")
        if stashed and stashed.lower() != (user.email or "").lower():
            self.unstash_verified_email(request)
        if commit:
            user.save()
        return user

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # Render now (the request is here), send from the task worker.
        request = allauth_context.request
        site = SaysoSite(name="Sayso", domain=request.get_host() if request else "")
        message = self.render_mail(
            template_prefix,
            email,
            {"request": request, "email": email, "current_site": site, **context},
        )
        html = ""
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                html = str(content)
        subject, body, to = str(message.subject), str(message.body), list(message.to)
        transaction.on_commit(
            lambda: send_email.enqueue(subject=subject, body=body, to=to, html=html)
        )
