"""The service dashboard: what an office publishes about itself, computed from the case file."""
