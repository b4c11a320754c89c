# Every existing response gets a random export key (see 0008), a batch at a time, so
# memory and each statement stay small whatever the number of responses.

from typing import Any

from django.db import migrations
from django.db.models import Count

from sayso.surveys.models import new_export_key

BATCH = 2000


def fill_export_keys(apps: Any, schema_editor: Any) -> None:
    response_model = apps.get_model("surveys", "Response")
    responses = response_model.objects.using(schema_editor.connection.alias)
    last = 0
    while True:
        ids = list(
            responses.filter(pk__gt=last, export_key__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        if not ids:
            break
        responses.bulk_update(
            [response_model(pk=pk, export_key=new_export_key()) for pk in ids],
            ["export_key"],
            batch_size=500,
        )
        last = ids[-1]
    # Two responses may have drawn the same key (a few in a billion): each but one
    # draws again, until no two share one, before 0010 makes the keys unique.
    while True:
        shared = list(
            responses.values("export_key")
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
            .order_by()
            .values_list("export_key", flat=True)[:BATCH]
        )
        if not shared:
            break
        for key in shared:
            alike = responses.filter(export_key=key).order_by("pk")
            for pk in alike.values_list("pk", flat=True)[1:]:
                responses.filter(pk=pk).update(export_key=new_export_key())


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0008_response_export_key"),
    ]

    operations = [
        # Going back, 0008's reversal drops the column and the keys with it.
        migrations.RunPython(fill_export_keys, migrations.RunPython.noop, elidable=False),
    ]
