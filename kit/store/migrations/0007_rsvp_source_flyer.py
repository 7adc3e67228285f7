from tortoise import migrations
from tortoise.migrations import operations as ops
from kit.store.models import RsvpSource
from tortoise import fields

from kit.store.migrations._operations import AlterFieldComment


class Migration(migrations.Migration):
    dependencies = [('models', '0006_meeting_tallies')]

    initial = False

    operations = [
        # RsvpSource gains FLYER (RSVPs through the printed flyer's QR code).
        AlterFieldComment(
            model_name='Rsvp',
            name='source',
            field=fields.CharEnumField(default=RsvpSource.DIRECT, description='DIRECT: direct\nSEARCH: search\nSHARE: share\nINVITATION: invitation\nCAMPAIGN: campaign\nDEMO: demo\nFLYER: flyer', enum_type=RsvpSource, max_length=12),
        ),
    ]
