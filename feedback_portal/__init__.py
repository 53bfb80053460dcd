"""Feedback Portal: frontline staff tell the council what works and what doesn't in the new CMS."""
