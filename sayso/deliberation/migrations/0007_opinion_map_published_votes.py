# OpinionMapResult.published_votes and held_back: a recompute publishes a new map only
# when enough participants voted since the published one (services.publication_due). A map
# stored before this is treated as published, holding the votes there are now: digests
# of the current votes. A few votes cast since its last recompute are then counted as
# in it, which can only make the next publication wait longer, never come sooner.

from typing import Any

import numpy as np
from django.db import migrations, models

from sayso.deliberation.models import OpinionMapResult as CurrentResult
from sayso.deliberation.models import vote_digests


def record_published_votes(apps: Any, schema_editor: Any) -> None:
    result_model = apps.get_model("deliberation", "OpinionMapResult")
    vote_model = apps.get_model("deliberation", "Vote")
    for result in result_model.objects.defer("warm_start").iterator():
        if not result.data or "statements" not in result.data:
            continue  # nothing published yet: the first map is published when it exists
        rows = list(
            vote_model.objects.filter(participant__conversation_id=result.conversation_id)
            .values_list("participant_id", "statement_id", "value")
            .iterator()
        )
        columns = np.array(rows, dtype=np.int64).reshape(-1, 3)
        ids, digests = vote_digests(columns[:, 0], columns[:, 1], columns[:, 2])
        result.published_votes = CurrentResult.pack_digests(ids, digests)
        result.save(update_fields=["published_votes"])


class Migration(migrations.Migration):
    dependencies = [
        ("deliberation", "0006_member_joined"),
    ]

    operations = [
        migrations.AddField(
            model_name="opinionmapresult",
            name="held_back",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="opinionmapresult",
            name="published_votes",
            field=models.BinaryField(blank=True, default=b""),
        ),
        migrations.RunPython(record_published_votes, migrations.RunPython.noop),
    ]
