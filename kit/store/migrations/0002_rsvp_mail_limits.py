from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from kit.store.models import HostNotify
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EmailOptOut',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'email_opt_out', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An address that unsubscribed from non-essential email (List-Unsubscribe).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='GeocodeAnswer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=300)),
                ('value', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'geocode_answer', 'app': 'models', 'pk_attr': 'id', 'table_description': "A remote geocoder's answer, cached as public services ask (and to spare their quota)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RateCounter',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=200)),
                ('window_start', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('hits', fields.IntField(default=0)),
            ],
            options={'table': 'rate_counter', 'app': 'models', 'pk_attr': 'key', 'table_description': 'Hits of one client (or meeting) in the current window. Kept in the database so that'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Meeting',
            name='host_digest_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Meeting',
            name='host_notify',
            field=fields.CharEnumField(default=HostNotify.EACH, description='EACH: each\nDIGEST: digest', db_default='each', enum_type=HostNotify, max_length=10),
        ),
        ops.AddField(
            model_name='Meeting',
            name='sequence',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Meeting',
            name='waitlist_enabled',
            field=fields.BooleanField(default=True, db_default=True),
        ),
        ops.AddField(
            model_name='Rsvp',
            name='reminded_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
