"""A code's use no longer records the day it was used.

A response or participant keeps the day it started (`Response.started_on`,
`Participant.joined_on`). On a day when one code was used for a survey, the use's
date picked out the response it unlocked; and as the codes' digests are not keyed,
whoever knows which envelope got which code could find that code's use, and so that
person's answers. Dropping the column loses those dates on purpose; a use now says only
which code was used for which survey or conversation.

Going back cannot bring the dates back: every use gets the day of going back (the
field's default), and 0007's way back then gives each used code that day.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_remove_invitationcode_used_on"),
    ]

    operations = [
        migrations.RemoveField(model_name="invitationcodeuse", name="used_on"),
    ]
