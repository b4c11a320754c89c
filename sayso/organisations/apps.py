from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrganisationsConfig(AppConfig):
    name = "sayso.organisations"
    label = "organisations"
    verbose_name = _("Organisations and data practices")

    def ready(self) -> None:
        from . import module  # noqa: F401  (registers with the module registry)
