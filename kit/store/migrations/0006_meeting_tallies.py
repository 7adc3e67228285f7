from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_dashboard_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Meeting',
            name='attendee_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Meeting',
            name='commitment_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Meeting',
            name='committed_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Meeting',
            name='reported',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Meeting',
            name='rsvp_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        # Backfill: the same recount as kit.meetings.tallies.RECOUNT, frozen here.
        ops.RunSQL(
            """
            UPDATE meeting SET
              rsvp_count = (SELECT COUNT(*) FROM rsvp v
                            WHERE v.meeting_id = meeting.id AND v.status <> 'cancelled'),
              attendee_count = (SELECT COUNT(*) FROM attendee a WHERE a.meeting_id = meeting.id),
              committed_count = (SELECT COUNT(DISTINCT c.attendee_id) FROM commitment c
                                 WHERE c.meeting_id = meeting.id),
              commitment_count = (SELECT COUNT(*) FROM commitment c
                                  WHERE c.meeting_id = meeting.id),
              reported = EXISTS (SELECT 1 FROM report r WHERE r.meeting_id = meeting.id)
            """,
            reverse_sql=ops.RunSQL.noop,  # the columns go with the fields
        ),
    ]
