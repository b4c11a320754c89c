# Survey.figures_shown_for: how many complete responses members last read the figures
# for. A survey already closed has shown its figures for the responses it has now.

from importlib import import_module
from typing import Any

from django.db import migrations, models

# As in 0011: on SQLite a new column may make Django rebuild surveys_survey, which drops
# its definition revision trigger (migration 0004): drop it first, create it again after.
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


def shown_for_closed_surveys(apps: Any, schema_editor: Any) -> None:
    survey_model = apps.get_model("surveys", "Survey")
    response_model = apps.get_model("surveys", "Response")
    for survey in survey_model.objects.filter(status="closed"):
        survey.figures_shown_for = response_model.objects.filter(
            survey=survey, status="complete", is_preview=False
        ).count()
        survey.save(update_fields=["figures_shown_for"])


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0011_choice_exclusive"),
    ]

    operations = [
        migrations.RunPython(drop_triggers, create_triggers),
        migrations.AddField(
            model_name="survey",
            name="figures_shown_for",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="survey",
            name="figures_withheld_since_shown",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.RunPython(shown_for_closed_surveys, migrations.RunPython.noop),
    ]
