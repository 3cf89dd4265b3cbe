"""The recommendations page and the status of the stack (``python -m movielens_web``)."""
