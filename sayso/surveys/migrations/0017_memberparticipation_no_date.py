"""A member's participation no longer records the day they answered.

A response keeps the day it was sent (`Response.submitted_on`, in every export). On a
day when one member of a one-answer-each survey answered, the participation's date
named the member and the response's date picked out their answers: the record that a
member answered was linked to what they said. Dropping the column loses those dates on
purpose; a participation now says only that the member answered.

Going back cannot bring the dates back: every participation gets the day of going
back (the first operation gives the old field that default, in the migration state
only, so that putting the NOT NULL column back fills the existing rows).
"""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0016_survey_link_token_capitals"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="memberparticipation",
                    name="answered_on",
                    field=models.DateField(default=django.utils.timezone.localdate),
                ),
            ],
        ),
        migrations.RemoveField(model_name="memberparticipation", name="answered_on"),
    ]
