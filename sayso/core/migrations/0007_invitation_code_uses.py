"""A code works once in each survey or conversation, instead of once anywhere.

Until now a code had one `used_on` date, whatever it was used for. Each use now has a
row of its own, InvitationCodeUse (code, activity, date), unique per code and
activity. For every code already used, this migration records a use, on the same
date, for each activity that took the code's batch when the migration ran:

- the batch's purpose, if it has one (the survey it was made for), and
- every survey and conversation naming the batch as its codes (`code_batch`).

Which of them a code was spent on was never recorded, so a code used before now counts
as used in all of them. That keeps the old promise: nobody gets into a survey or
conversation twice with the same code. The cost is that a person who used their code
for a survey before this change still cannot use it for a conversation that took the
same batch then; codes used from now on work once in each. The counts shown for such
an activity include those earlier uses.

The `used_on` column goes in the next migration (0008), in a transaction of its own:
PostgreSQL will not alter a table while the uses just written are still to be checked
against it.

A used code whose batch no survey or conversation takes any more (no purpose, no
activity naming it) keeps no record: a use only ever matters to the activity it was
for, and none is left.

Going back puts each code's earliest use date in `used_on` again.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import sayso.core.models

BATCH = 1000


def activities_taking(apps, batch, content_type):
    """(content type id, object id) of each activity that takes the batch's codes."""
    found = set()
    if batch.purpose_type_id is not None and batch.purpose_id is not None:
        found.add((batch.purpose_type_id, batch.purpose_id))
    for app_label, model_name in (("surveys", "Survey"), ("deliberation", "Conversation")):
        model = apps.get_model(app_label, model_name)
        ids = model.objects.filter(code_batch_id=batch.pk).values_list("pk", flat=True)
        found.update((content_type(app_label, model_name).pk, pk) for pk in ids)
    return sorted(found)


def record_uses(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    InvitationCodeBatch = apps.get_model("core", "InvitationCodeBatch")
    InvitationCode = apps.get_model("core", "InvitationCode")
    InvitationCodeUse = apps.get_model("core", "InvitationCodeUse")

    def content_type(app_label, model_name):
        return ContentType.objects.get_or_create(app_label=app_label, model=model_name.lower())[0]

    batches = InvitationCodeBatch.objects.filter(codes__used_on__isnull=False).distinct()
    for batch in batches.order_by("pk"):
        activities = activities_taking(apps, batch, content_type)
        if not activities:
            continue
        used = InvitationCode.objects.filter(batch=batch, used_on__isnull=False)
        InvitationCodeUse.objects.bulk_create(
            (
                InvitationCodeUse(
                    code_id=code_id,
                    activity_type_id=type_id,
                    activity_id=activity_id,
                    used_on=used_on,
                )
                for code_id, used_on in used.values_list("pk", "used_on").order_by("pk")
                for type_id, activity_id in activities
            ),
            batch_size=BATCH,
        )


def restore_used_on(apps, schema_editor):
    InvitationCode = apps.get_model("core", "InvitationCode")
    InvitationCodeUse = apps.get_model("core", "InvitationCodeUse")
    first = (
        InvitationCodeUse.objects.filter(code=models.OuterRef("pk"))
        .order_by("used_on")
        .values("used_on")[:1]
    )
    InvitationCode.objects.filter(uses__isnull=False).update(used_on=models.Subquery(first))


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0006_audit_statement_edited"),
        # Where surveys and conversations first named their batch of codes (code_batch).
        ("surveys", "0001_initial"),
        ("deliberation", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="InvitationCodeUse",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        default=sayso.core.models.new_code_use_id,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("activity_id", models.PositiveBigIntegerField()),
                ("used_on", models.DateField(default=django.utils.timezone.localdate)),
                (
                    "activity_type",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="contenttypes.contenttype",
                    ),
                ),
                (
                    "code",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="uses",
                        to="core.invitationcode",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("code", "activity_type", "activity_id"),
                        name="code_used_once_per_activity",
                    )
                ],
            },
        ),
        migrations.RunPython(record_uses, restore_used_on),
    ]
