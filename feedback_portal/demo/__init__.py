"""Realistic demo data: teams, one login per role, and about 300 pieces of feedback since go-live."""
