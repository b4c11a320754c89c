# PublishedVotes: a copy of exactly the votes each published version holds, for the Polis
# export (services.stream_polis_export), which refused while anyone in the published
# results had voted again since. Nothing is copied here: a version published before
# has its copy made by the next recompute (the export queues one) when nobody in it has
# voted again since, and otherwise by its next publication (services.store_recomputed).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('deliberation', '0008_statement_held'),
    ]

    operations = [
        migrations.CreateModel(
            name='PublishedVotes',
            fields=[
                ('result', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='published_copy', serialize=False, to='deliberation.opinionmapresult')),
                ('arrays', models.BinaryField(blank=True, null=True)),
            ],
        ),
    ]
