from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0009_places_flags_roles_audit')]

    initial = False

    operations = [
        # When sending an email stops helping (a reminder: the meeting's start; a sign-in
        # link: its expiry), set when it is queued. Rows queued before this migration keep
        # NULL, which `kit outbox retry --all` reads as never too late: no backfill.
        ops.AddField(
            model_name='OutboxEmail',
            name='expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
