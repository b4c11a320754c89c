"""Background work for core. Runs in the task worker (`sayso worker`)."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.tasks import task


@task()
def send_email(*, subject: str, body: str, to: list[str], html: str = "") -> None:
    """Sending mail is slow and may fail; it never happens inside a request."""
    message = EmailMultiAlternatives(subject=subject, body=body, to=to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
