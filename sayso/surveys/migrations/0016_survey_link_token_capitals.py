# New survey links are capitals and digits (models.new_link_token), to be typed off a
# code sheet; links made before keep working. Only the field's default changes, but on
# SQLite Django rebuilds surveys_survey for it, which drops its definition revision
# trigger (migration 0004): dropped first and created again after, with 0012's functions.

from importlib import import_module

from django.db import migrations, models

import sayso.surveys.models

survey_triggers = import_module("sayso.surveys.migrations.0012_survey_figures_shown_for")
drop_triggers = survey_triggers.drop_triggers
create_triggers = survey_triggers.create_triggers


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0015_survey_closed_on"),
    ]

    operations = [
        migrations.RunPython(drop_triggers, create_triggers),
        migrations.AlterField(
            model_name="survey",
            name="link_token",
            field=models.CharField(
                default=sayso.surveys.models.new_link_token,
                editable=False,
                max_length=64,
                unique=True,
            ),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
