from tortoise import migrations
from tortoise.migrations import operations as ops
from kit.store.models import CoordinatorRole, FlagReason, MeetingStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

from kit.store.migrations._operations import AlterFieldComment

class Migration(migrations.Migration):
    dependencies = [('models', '0008_trust_by_proof')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('actor', fields.ForeignKeyField('models.Coordinator', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='audit_entries', on_delete=OnDelete.SET_NULL)),
                ('actor_label', fields.CharField(default='', max_length=254)),
                ('action', fields.CharField(max_length=40)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name='audit_entries', on_delete=OnDelete.SET_NULL)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', null=True, db_constraint=True, to_field='id', related_name='audit_entries', on_delete=OnDelete.SET_NULL)),
                ('detail', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'audit_entry', 'app': 'models', 'indexes': [Index(fields=['campaign_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'Something a coordinator (or an operator at the CLI) did, for coordinators to read.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MeetingFlag',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', db_constraint=True, to_field='id', related_name='flags', on_delete=OnDelete.CASCADE)),
                ('reason', fields.CharEnumField(description='SPAM: spam\nUNSAFE: unsafe\nWRONG: wrong\nOTHER: other', enum_type=FlagReason, max_length=10)),
                ('note', fields.TextField(default='', unique=False)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('reporter_key', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'meeting_flag', 'app': 'models', 'unique_together': (('meeting', 'reporter_key'),), 'indexes': [Index(fields=['resolved_at', 'created_at'])], 'pk_attr': 'id', 'table_description': 'Someone reported a meeting ("report this meeting"), once per person.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Campaign',
            name='auto_hide_flags',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Campaign',
            name='country',
            field=fields.CharField(default='', db_default='', max_length=2),
        ),
        ops.AddField(
            model_name='Campaign',
            name='region',
            field=fields.CharField(default='', db_default='', max_length=120),
        ),
        ops.AddField(
            model_name='Coordinator',
            name='role',
            field=fields.CharEnumField(default=CoordinatorRole.COORDINATOR, description='COORDINATOR: coordinator\nMODERATOR: moderator\nVIEWER: viewer', db_default='coordinator', enum_type=CoordinatorRole, max_length=12),
        ),
        AlterFieldComment(
            model_name='Meeting',
            name='status',
            field=fields.CharEnumField(default=MeetingStatus.PUBLISHED, description='DRAFT: draft\nAWAITING: awaiting\nPENDING: pending\nPUBLISHED: published\nCANCELLED: cancelled\nCOMPLETED: completed\nHIDDEN: hidden\nDECLINED: declined', enum_type=MeetingStatus, max_length=10),
        ),
        ops.AddField(
            model_name='Meeting',
            name='venue_name',
            field=fields.CharField(default='', db_default='', max_length=120),
        ),
    ]
