from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sayso.core.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo communities (safe to run again: it changes nothing the second time)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--address",
            default="http://127.0.0.1:8000",
            help="Where Sayso is served, for the sign-in link printed (sayso run passes its own).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        summary = load_demo()
        verb = "Loaded" if summary.created else "Checked"
        self.stdout.write(self.style.SUCCESS(f"{verb} the demo: three communities."))
        self.stdout.write(
            f"Sign in at {options['address'].rstrip('/')}/accounts/login/ as the demo organiser:\n"
            f"  email:    {summary.organiser_email}\n"
            f"  password: {summary.password}\n"
            f"(also {summary.member_email} and advisor {summary.advisor_email}, same password)"
        )
