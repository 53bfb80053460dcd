"""Feedback: one person's report about the CMS, in their own words."""
