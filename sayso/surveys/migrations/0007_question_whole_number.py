# Whole-number questions (XLSForm's `integer`).

from importlib import import_module
from typing import Any

from django.db import migrations, models

# As in 0006: adding a column makes SQLite rebuild surveys_question (create a copy, drop the table,
# rename the copy). Dropping it drops its own definition revision triggers (migration
# 0004), and the rename is refused while surveys_choice's triggers name a table that is
# gone. So on SQLite: drop both sets first, then create them again as 0004 wrote them.
revision = import_module("sayso.surveys.migrations.0004_sharded_counts_and_definition_revision")
TRIGGERS = [
    s for s in revision.SQLITE if " ON surveys_question " in s or " ON surveys_choice " in s
]


def _names() -> list[str]:
    return [statement.split()[2] for statement in TRIGGERS]


def drop_triggers(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return  # PostgreSQL adds the column in place; its triggers stay
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
        ("surveys", "0006_question_required_message"),
    ]

    operations = [
        migrations.RunPython(drop_triggers, create_triggers),
        migrations.AddField(
            model_name="question",
            name="whole_number",
            field=models.BooleanField(default=False, verbose_name="whole numbers only"),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
