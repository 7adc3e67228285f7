from tortoise import migrations
from tortoise.migrations import operations as ops
from kit.store.models import IdeaStatus, MeetingStatus, TokenKind, new_public_id
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_host_agenda')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Attendee',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', db_constraint=True, to_field='id', related_name='attendees', on_delete=OnDelete.CASCADE)),
                ('rsvp', fields.ForeignKeyField('models.Rsvp', source_field='rsvp_id', null=True, db_constraint=True, to_field='id', related_name='attendance', on_delete=OnDelete.SET_NULL)),
                ('name', fields.CharField(max_length=120)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('phone', fields.CharField(null=True, max_length=40)),
                ('walk_in', fields.BooleanField(default=False)),
                ('consent', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'attendee', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Someone who came, as the host reported it: an RSVP checked off, or a walk-in.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Commitment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', db_constraint=True, to_field='id', related_name='commitments', on_delete=OnDelete.CASCADE)),
                ('attendee', fields.ForeignKeyField('models.Attendee', source_field='attendee_id', db_constraint=True, to_field='id', related_name='commitments', on_delete=OnDelete.CASCADE)),
                ('ask', fields.CharField(max_length=40)),
            ],
            options={'table': 'commitment', 'app': 'models', 'unique_together': (('attendee', 'ask'),), 'indexes': [Index(fields=['meeting_id', 'ask'])], 'pk_attr': 'id', 'table_description': 'One attendee\'s yes to one of the campaign\'s asks ("host", "volunteer", ...).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Coordinator',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('name', fields.CharField(default='', max_length=120)),
                ('is_admin', fields.BooleanField(default=False)),
                ('password_hash', fields.CharField(null=True, max_length=255)),
                ('campaigns', fields.ManyToManyField('models.Campaign', unique=True, db_constraint=True, through='coordinator_campaign', forward_key='campaign_id', backward_key='coordinator_id', related_name='coordinators', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'coordinator', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A campaign organizer. Admins see every campaign, others only theirs.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Idea',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.CharField(default=new_public_id, unique=True, max_length=16)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', db_constraint=True, to_field='id', related_name='ideas', on_delete=OnDelete.CASCADE)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name='ideas', on_delete=OnDelete.SET_NULL)),
                ('text', fields.CharField(max_length=300)),
                ('status', fields.CharEnumField(default=IdeaStatus.NEW, description='NEW: new\nUNDER_REVIEW: under_review\nADOPTED: adopted\nDONE: done\nDECLINED: declined', enum_type=IdeaStatus, max_length=14)),
                ('status_note', fields.TextField(default='', unique=False)),
                ('supporters', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'idea', 'app': 'models', 'indexes': [Index(fields=['campaign_id', 'supporters'])], 'pk_attr': 'id', 'table_description': "An idea raised at a meeting, on its campaign's public idea board."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IdeaSupport',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('idea', fields.ForeignKeyField('models.Idea', source_field='idea_id', db_constraint=True, to_field='id', related_name='supports', on_delete=OnDelete.CASCADE)),
                ('supporter_key', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'idea_support', 'app': 'models', 'unique_together': (('idea', 'supporter_key'),), 'pk_attr': 'id', 'table_description': 'One supporter of one idea, once: keyed by a hash of their email or browser id.'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='AccessToken',
            name='kind',
            field=fields.CharEnumField(description='MEETING_MANAGE: meeting_manage\nRSVP_MANAGE: rsvp_manage\nPERSON_FEED: person_feed\nCOORDINATOR_LOGIN: coordinator_login\nCOORDINATOR_API: coordinator_api', enum_type=TokenKind, max_length=20),
        ),
        ops.AddField(
            model_name='AccessToken',
            name='coordinator',
            field=fields.ForeignKeyField('models.Coordinator', source_field='coordinator_id', null=True, db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='AccessToken',
            name='expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AlterField(
            model_name='Meeting',
            name='status',
            field=fields.CharEnumField(default=MeetingStatus.PUBLISHED, description='DRAFT: draft\nPENDING: pending\nPUBLISHED: published\nCANCELLED: cancelled\nCOMPLETED: completed\nHIDDEN: hidden', enum_type=MeetingStatus, max_length=10),
        ),
        ops.AddField(
            model_name='Meeting',
            name='completed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Meeting',
            name='hidden_reason',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='Meeting',
            name='report_reminders',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Meeting',
            name='report_requested_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RemoveField(model_name='Report', name='attendance'),
        ops.RemoveField(model_name='Report', name='commitments'),
        ops.RemoveField(model_name='Report', name='ideas'),
    ]
