"""Typed wrappers around factory_boy's declarations (which carry no annotations)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from factory import declarations
from factory.django import Password as _Password


def sequence(function: Callable[[int], Any]) -> Any:
    return declarations.Sequence(function)  # type: ignore[no-untyped-call]


def sub_factory(factory: Any, **kwargs: Any) -> Any:
    return declarations.SubFactory(factory, **kwargs)  # type: ignore[no-untyped-call]


def lazy_function(function: Callable[[], Any]) -> Any:
    return declarations.LazyFunction(function)  # type: ignore[no-untyped-call]


def lazy_attribute(function: Callable[[Any], Any]) -> Any:
    return declarations.LazyAttribute(function)  # type: ignore[no-untyped-call]


def self_attribute(name: str) -> Any:
    return declarations.SelfAttribute(name)  # type: ignore[no-untyped-call]


def password(raw: str) -> Any:
    return _Password(raw)  # type: ignore[no-untyped-call]
