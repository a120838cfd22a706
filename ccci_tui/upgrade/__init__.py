"""The one place that changes a swarm; callers must have the user's explicit consent."""
