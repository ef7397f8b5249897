"""Starting, watching and stopping the project's processes in the background (`ektp up|down`)."""
