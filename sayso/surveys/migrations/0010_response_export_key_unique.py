# The export key (filled by 0009) becomes unique and required, and new responses draw
# theirs at random; the index that counted submitted responses now also orders them
# by it, for the exports' chunks (exports.chunks).

from django.db import migrations, models

import sayso.surveys.models


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0009_fill_response_export_keys"),
    ]

    operations = [
        migrations.AlterField(
            model_name="response",
            name="export_key",
            field=models.BigIntegerField(
                default=sayso.surveys.models.new_export_key, editable=False, unique=True
            ),
        ),
        migrations.RemoveIndex(
            model_name="response",
            name="response_count",
        ),
        migrations.AddIndex(
            model_name="response",
            index=models.Index(
                fields=["survey", "status", "is_preview", "export_key"], name="response_export"
            ),
        ),
    ]
