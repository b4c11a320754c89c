from typing import Any

from django.core.management.base import BaseCommand

from sayso.core.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo communities (safe to run again: it changes nothing the second time)."

    def handle(self, *args: Any, **options: Any) -> None:
        summary = load_demo()
        verb = "Loaded" if summary.created else "Checked"
        self.stdout.write(self.style.SUCCESS(f"{verb} the demo: three communities."))
        self.stdout.write(
            "Sign in at http://127.0.0.1:8000/accounts/login/ as the demo organiser:\n"
            f"  email:    {summary.organiser_email}\n"
            f"  password: {summary.password}\n"
            f"(also {summary.member_email} and advisor {summary.advisor_email}, same password)"
        )
