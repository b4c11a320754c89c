# Options ticked on their own ("None of these"): Choice.exclusive.

from importlib import import_module
from typing import Any

from django.db import migrations, models

# As in 0006 and 0007: adding a column makes SQLite rebuild surveys_choice (create a
# copy, drop the table, rename the copy), and dropping it drops its definition revision
# triggers (migration 0004). So on SQLite: drop them first, then create them again as
# 0004 wrote them. PostgreSQL adds the column in place; its triggers stay.
revision = import_module("sayso.surveys.migrations.0004_sharded_counts_and_definition_revision")
TRIGGERS = [s for s in revision.SQLITE if " ON surveys_choice " in s]


def _names() -> list[str]:
    return [statement.split()[2] for statement in TRIGGERS]


def drop_triggers(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        for name in _names():
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def create_triggers(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    drop_triggers(apps, schema_editor)
    with schema_editor.connection.cursor() as cursor:
        for statement in TRIGGERS:
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0010_response_export_key_unique"),
    ]

    operations = [
        migrations.RunPython(drop_triggers, create_triggers),
        migrations.AddField(
            model_name="choice",
            name="exclusive",
            field=models.BooleanField(
                default=False, verbose_name="can't be ticked with other options"
            ),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
