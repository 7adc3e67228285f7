from tortoise import migrations
from tortoise.migrations import operations as ops
from kit.store.models import MeetingStatus, RsvpStatus, TokenKind, new_public_id
from tortoise import fields

from kit.store.migrations._operations import AlterFieldComment, RunSQLOnPostgres

class Migration(migrations.Migration):
    dependencies = [('models', '0007_rsvp_source_flyer')]

    initial = False

    operations = [
        AlterFieldComment(
            model_name='AccessToken',
            name='kind',
            field=fields.CharEnumField(description='MEETING_MANAGE: meeting_manage\nRSVP_MANAGE: rsvp_manage\nPERSON_FEED: person_feed\nCOORDINATOR_LOGIN: coordinator_login\nCOORDINATOR_API: coordinator_api\nHOST_CONFIRM: host_confirm', enum_type=TokenKind, max_length=20),
        ),
        ops.AddField(
            model_name='Attendee',
            name='invite_consent',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Coordinator',
            name='session_epoch',
            field=fields.IntField(default=0, db_default=0),
        ),
        AlterFieldComment(
            model_name='Meeting',
            name='status',
            field=fields.CharEnumField(default=MeetingStatus.PUBLISHED, description='DRAFT: draft\nAWAITING: awaiting\nPENDING: pending\nPUBLISHED: published\nCANCELLED: cancelled\nCOMPLETED: completed\nHIDDEN: hidden', enum_type=MeetingStatus, max_length=10),
        ),
        ops.AddField(
            model_name='Meeting',
            name='approve_guests',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='OutboxEmail',
            name='message_key',
            field=fields.CharField(null=True, default=new_public_id, max_length=24),
        ),
        ops.AddField(
            model_name='Person',
            name='email_verified_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Person',
            name='trusted',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        AlterFieldComment(
            model_name='Rsvp',
            name='status',
            field=fields.CharEnumField(default=RsvpStatus.CONFIRMED, description='CONFIRMED: confirmed\nWAITLISTED: waitlisted\nREQUESTED: requested\nCANCELLED: cancelled', enum_type=RsvpStatus, max_length=12),
        ),
        ops.AddField(
            model_name='Rsvp',
            name='address_sent_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        # Guests confirmed before 0008 were sent the exact address with their confirmation.
        ops.RunSQL(
            "UPDATE rsvp SET address_sent_at = updated_at WHERE status = 'confirmed'",
            reverse_sql=ops.RunSQL.noop,
        ),
        # A seat count can never go below zero or above the capacity, whatever the code
        # does (kit.meetings.rsvps keeps it so; this makes a bug fail loudly instead of overbooking).
        # NOT VALID: enforced on every write from now on, without failing the migration on
        # an old row. SQLite gets the same rule as triggers (kit.store.db.ensure_seat_guards),
        # which survive Tortoise's table rebuilds because they are recreated after each.
        RunSQLOnPostgres(
            "ALTER TABLE meeting ADD CONSTRAINT meeting_seats_in_range "
            "CHECK (seats_taken >= 0 AND seats_taken <= capacity) NOT VALID",
            reverse_sql="ALTER TABLE meeting DROP CONSTRAINT meeting_seats_in_range",
        ),
    ]
