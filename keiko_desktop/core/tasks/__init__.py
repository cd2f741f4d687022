"""Background tasks: records, kinds, schedules, the engine and the service (no Qt)."""
