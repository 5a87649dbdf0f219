"""A local Lambda: functions run in their own process by the real runtime interface client."""
