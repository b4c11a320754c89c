"""Factories for people and their tokens."""

from __future__ import annotations

from factory.django import DjangoModelFactory

from sayso.accounts.models import User
from sayso.core.tests.declarations import password, sequence

PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = sequence(lambda n: f"person{n}@example.org")
    name = sequence(lambda n: f"Person {n}")
    password = password(PASSWORD)


class AdvisorFactory(UserFactory):
    is_advisor = True


def verified(user: User) -> User:
    """Give `user` a verified primary email address, as allauth expects for sign-in."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return user
