"""Telling the people who spoke up what happened: in-app notifications and an email outbox."""
