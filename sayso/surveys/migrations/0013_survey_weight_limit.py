# Survey.weight_limit: weight trimming, at most this many times the average respondent
# (None: no limit). Existing surveys get the usual 5.

from importlib import import_module
from typing import Any

import django.core.validators
from django.db import migrations, models

# As in 0011 and 0012: on SQLite a new column may make Django rebuild surveys_survey,
# which drops its definition revision trigger (migration 0004): drop it first, create it
# again after.
revision = import_module("sayso.surveys.migrations.0004_sharded_counts_and_definition_revision")
TRIGGERS = [s for s in revision.SQLITE if " ON surveys_survey " in s]


def drop_triggers(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        for statement in TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {statement.split()[2]}")


def create_triggers(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    drop_triggers(apps, schema_editor)
    with schema_editor.connection.cursor() as cursor:
        for statement in TRIGGERS:
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0012_survey_figures_shown_for"),
    ]

    operations = [
        migrations.RunPython(drop_triggers, create_triggers),
        migrations.AddField(
            model_name="survey",
            name="weight_limit",
            field=models.PositiveSmallIntegerField(
                blank=True,
                default=5,
                help_text="At most this many times the average. Empty: no limit.",
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(2),
                    django.core.validators.MaxValueValidator(20),
                ],
                verbose_name="limit on one person's weight",
            ),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
