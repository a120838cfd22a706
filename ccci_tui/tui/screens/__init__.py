"""The main screen and the screens it opens: evidence, picker, compare, help, confirmation."""
