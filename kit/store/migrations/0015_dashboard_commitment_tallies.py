from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

from kit.store.migrations._dashboard_tally import RunStatements
from kit.store.migrations._outcome_tally import install

# A campaign's commitments by ask and reports' headcounts by meeting status, and its new
# hosts, kept by triggers on the commitment, report and meeting tables (see _outcome_tally.py),
# backfilled from them.


class Migration(migrations.Migration):
    dependencies = [('models', '0014_dashboard_tallies')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DashboardOutcomeTally',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign_id', fields.IntField()),
                ('status', fields.CharField(max_length=20)),
                ('ask', fields.CharField(max_length=40)),
                ('commitments', fields.IntField(default=0, db_default=0)),
                ('headcount', fields.IntField(default=0, db_default=0)),
            ],
            options={'table': 'dashboard_outcome_tally', 'app': 'models', 'unique_together': (('campaign_id', 'status', 'ask'),), 'pk_attr': 'id', 'table_description': 'A campaign\'s commitments to one ask, or (ask "") its reports\' headcounts, by status.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DashboardHostTally',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign_id', fields.IntField()),
                ('host_id', fields.IntField()),
                ('meetings', fields.IntField(default=0, db_default=0)),
            ],
            options={'table': 'dashboard_host_tally', 'app': 'models', 'unique_together': (('campaign_id', 'host_id'),), 'pk_attr': 'id', 'table_description': "How many planned meetings a host holds that grew from one campaign's meetings."},
            bases=['Model'],
        ),
        RunStatements({'sqlite': install('sqlite'), 'postgres': install('postgres')}),
    ]
