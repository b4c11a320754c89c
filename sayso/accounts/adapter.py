from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction
from django.http import HttpRequest

from sayso.core.tasks import send_email


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=False)
        user.name = form.cleaned_data.get("name", "")
        if commit:
            user.save()
        return user

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # Render now (the request is here), send from the task worker.
        message = self.render_mail(template_prefix, email, context)
        html = ""
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                html = str(content)
        subject, body, to = str(message.subject), str(message.body), list(message.to)
        transaction.on_commit(
            lambda: send_email.enqueue(subject=subject, body=body, to=to, html=html)
        )
