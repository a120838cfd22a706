"""Textual front end: one frozen `AppOptions` builds the app for the CLI and the tests alike."""
