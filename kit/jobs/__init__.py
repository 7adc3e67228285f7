"""Timed work: reminders, digests and report requests, run beside delivery."""
