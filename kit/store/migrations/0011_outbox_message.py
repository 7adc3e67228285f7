from tortoise import migrations
from tortoise.migrations import operations as ops
from kit.store.models import Channel, DeliveryStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

from kit.store.migrations._operations import RunSQLByDialect

# The email outbox becomes the outbox of every channel: one queue, one delivery loop,
# the channel's content in ``payload``. Rows keep their ids, keys and delivery state.
_COLUMNS = (
    "id, message_key, channel, kind, recipient, payload, meeting_id, status, attempts, "
    "next_attempt_at, last_error, created_at, sent_at, expires_at"
)
_COPY = (
    f"INSERT INTO outbox_message ({_COLUMNS}) "
    "SELECT id, message_key, 'email', kind, to_addr, {payload}, meeting_id, status, "
    "attempts, next_attempt_at, last_error, created_at, sent_at, expires_at FROM outbox_email"
)
_PAYLOAD = (
    "{build}('sender_name', sender_name, 'reply_to', reply_to, 'subject', subject, "
    "'body_text', body_text, 'body_html', body_html, "
    "'headers', {json}(headers), 'attachments', {json}(attachments))"
)


class Migration(migrations.Migration):
    dependencies = [('models', '0010_outbox_expires_at')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message_key', fields.CharField(null=True, max_length=24)),
                ('channel', fields.CharEnumField(default=Channel.EMAIL, description='EMAIL: email', enum_type=Channel, max_length=20)),
                ('kind', fields.CharField(max_length=40)),
                ('recipient', fields.CharField(max_length=500)),
                ('payload', fields.JSONField(default=dict)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', null=True, db_constraint=True, to_field='id', related_name='outbox_messages', on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharEnumField(default=DeliveryStatus.PENDING, description='PENDING: pending\nSENT: sent\nFAILED: failed', enum_type=DeliveryStatus, max_length=10)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbox_message', 'app': 'models', 'indexes': [Index(fields=['status', 'next_attempt_at']), Index(fields=['recipient', 'kind'])], 'pk_attr': 'id', 'table_description': 'Something to deliver, written in the same transaction as the change that causes'},
            bases=['Model'],
        ),
        RunSQLByDialect(
            sqlite=_COPY.format(payload=_PAYLOAD.format(build="json_object", json="json")),
            postgres=[
                _COPY.format(payload=_PAYLOAD.format(build="jsonb_build_object", json="to_jsonb")),
                "SELECT setval(pg_get_serial_sequence('outbox_message', 'id'), "
                "COALESCE((SELECT MAX(id) FROM outbox_message), 0) + 1, false)",
            ],
        ),
        ops.DeleteModel(name='OutboxEmail'),
    ]
