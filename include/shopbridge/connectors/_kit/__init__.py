"""The plumbing every connector is built from: HTTP with retries, pagers, pacing, tokens."""
