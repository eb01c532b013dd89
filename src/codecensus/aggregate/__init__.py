"""Aggregation: statistics, released figures and the privacy layer between sessions and reports."""
