"""The date a code was used now lives with each use (InvitationCodeUse, 0007): one
source of truth."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0007_invitation_code_uses"),
    ]

    operations = [
        migrations.RemoveField(model_name="invitationcode", name="used_on"),
    ]
