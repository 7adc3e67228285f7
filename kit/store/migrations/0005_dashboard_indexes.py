from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_reports_ideas_coordinators')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Attendee',
            index=Index(fields=['meeting_id']),
        ),
        ops.RemoveIndex(
            model_name='Commitment',
            name=None,
            fields=['meeting_id', 'ask'],
        ),
        ops.AddIndex(
            model_name='Commitment',
            index=Index(fields=['meeting_id', 'attendee_id', 'ask']),
        ),
        ops.AddIndex(
            model_name='Meeting',
            index=Index(fields=['campaign_id', 'status']),
        ),
        ops.AddIndex(
            model_name='Meeting',
            index=Index(fields=['grew_from_id']),
        ),
        ops.AddIndex(
            model_name='Rsvp',
            index=Index(fields=['meeting_id', 'status']),
        ),
    ]
