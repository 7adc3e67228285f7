from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

from kit.store.migrations._dashboard_tally import RunStatements, install

# A campaign's dashboard sums by status and place, and by status and ISO week, kept by
# triggers on the meeting table (see _dashboard_tally.py), backfilled from the meetings.


class Migration(migrations.Migration):
    dependencies = [('models', '0013_map_cells')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DashboardTally',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign_id', fields.IntField()),
                ('status', fields.CharField(max_length=20)),
                ('week', fields.CharField(default='', max_length=10)),
                ('country', fields.CharField(default='', max_length=2)),
                ('region', fields.CharField(default='', max_length=120)),
                ('locality', fields.CharField(default='', max_length=120)),
                ('meetings', fields.IntField(default=0)),
                ('reported', fields.IntField(default=0)),
                ('rsvps', fields.IntField(default=0)),
                ('attended', fields.IntField(default=0)),
                ('committed', fields.IntField(default=0)),
                ('commitments', fields.IntField(default=0)),
            ],
            options={'table': 'dashboard_tally', 'app': 'models', 'unique_together': (('campaign_id', 'week', 'status', 'country', 'region', 'locality'),), 'pk_attr': 'id', 'table_description': "A campaign's dashboard sums for one status and one place or one week."},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='Meeting',
            index=Index(fields=['campaign_id', 'starts_at']),
        ),
        ops.AddIndex(
            model_name='Meeting',
            index=Index(fields=['campaign_id', 'status', 'ends_at']),
        ),
        RunStatements({'sqlite': install('sqlite'), 'postgres': install('postgres')}),
    ]
