# Survey.weight_limit: weight trimming, at most this many times the average respondent
# (None: no limit). Existing surveys get the usual 5.

from importlib import import_module

import django.core.validators
from django.db import migrations, models

# As in 0011 and 0012: on SQLite a new column may make Django rebuild surveys_survey,
# which drops its definition revision trigger (migration 0004): drop it first, create it
# again after, with 0012's functions for that table.
survey_triggers = import_module("sayso.surveys.migrations.0012_survey_figures_shown_for")
drop_triggers = survey_triggers.drop_triggers
create_triggers = survey_triggers.create_triggers


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
