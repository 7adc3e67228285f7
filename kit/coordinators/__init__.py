"""The coordinators context: accounts, access, the team, signing in, API tokens,
campaigns, moderation, the audit log, the dashboard and its charts, exports and flags.
"""
