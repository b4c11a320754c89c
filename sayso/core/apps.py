from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "sayso.core"
    label = "core"
    verbose_name = _("Communities")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers system checks)
