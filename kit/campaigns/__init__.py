"""Campaigns: what a coordinator sets up (dates, asks, goals, guide) and how it is read."""
