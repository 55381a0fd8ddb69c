"""Fuzzing of every input surface: the targets, and the corpus each one replays."""
