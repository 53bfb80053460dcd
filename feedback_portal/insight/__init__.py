"""Insight: what the feedback says since go-live, in charts with their numbers, and "you said, we did"."""
