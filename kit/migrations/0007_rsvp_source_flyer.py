from tortoise import migrations
from tortoise.migrations import operations as ops
from kit.models import RsvpSource
from tortoise import fields


class AlterFieldComment(ops.AlterField):
    """An AlterField that only changes the column's comment.

    PostgreSQL gets ``COMMENT ON COLUMN``. SQLite keeps no column comments, and
    Tortoise 1.1.9 would apply this there by copying the whole rsvp table for
    nothing (the column, VARCHAR(12), does not change), so SQLite is skipped.
    (Such copies are safe since kit.db runs migrations with foreign keys off: before
    that, the copy's ``DROP TABLE rsvp`` cascaded to every guest's access token.)
    """

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor and state_editor.client.capabilities.dialect != "sqlite":
            await super().database_forward(app_label, old_state, new_state, state_editor)

    async def database_backward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor and state_editor.client.capabilities.dialect != "sqlite":
            await super().database_backward(app_label, old_state, new_state, state_editor)


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
