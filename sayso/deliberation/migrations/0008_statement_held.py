# Statement.State.HELD: a participant statement that may name someone, in a conversation
# that shows new statements straight away, waits for an organiser (services.add_participant_statement).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("deliberation", "0007_opinion_map_published_votes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="statement",
            name="state",
            field=models.CharField(
                choices=[
                    ("pending", "Waiting for moderation"),
                    ("held", "Held: may name someone"),
                    ("accepted", "Accepted"),
                    ("rejected", "Rejected"),
                ],
                default="accepted",
                max_length=10,
            ),
        ),
    ]
