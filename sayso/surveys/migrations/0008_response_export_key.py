# Responses get a random export key (models.Response.export_key), their id in exports.
#
# A unique column whose default is a callable is added in three steps, as Django's
# "Migrations that add unique fields" describes: this one adds it empty (NULL), 0009
# gives every existing response its own random key, 0010 makes it unique and required.
# Each step is its own migration, so on PostgreSQL each is its own transaction.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0007_question_whole_number"),
    ]

    operations = [
        migrations.AddField(
            model_name="response",
            name="export_key",
            field=models.BigIntegerField(editable=False, null=True),
        ),
    ]
