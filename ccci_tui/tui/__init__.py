"""Textual front end: `create_app` builds the app for the CLI and the tests alike."""
