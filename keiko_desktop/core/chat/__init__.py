"""Chat: the service that turns a user's message into a stored, streamed reply."""
