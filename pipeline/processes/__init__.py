"""The project's processes: the event loop each runs on, and starting, watching and stopping them in the
background (`ektp up|down`)."""
