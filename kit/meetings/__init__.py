"""Meetings: hosting, the public view and the privacy rule, search, RSVPs and seats,
tallies, notifications, calendar feeds and events."""
