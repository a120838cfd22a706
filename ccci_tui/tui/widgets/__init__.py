"""The panes of the main screen and the tables they are built on."""
